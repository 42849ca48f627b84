"""``autograder lint-assignment``: an assignment's mistakes found by its author, each with its key and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.grading.lint import line_of, lint

SYNTHETIC = Path(__file__).resolve().parent / "assignments" / "synthetic"


@pytest.fixture
def assignment(tmp_path) -> Path:
    shutil.copytree(SYNTHETIC, tmp_path / "synthetic")
    return tmp_path / "synthetic"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_sound_assignment_has_no_problems(assignment, capsys):
    assert main(["lint-assignment", str(assignment), "--no-grade"]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_a_misspelled_layer_setting_is_found_with_its_key_and_line(assignment, capsys):
    toml = assignment / "assignment.toml"
    edit(toml, '"Linear(in_features=768, out_features=32)"', '"Linear(in=768, out_features=32)"')
    line = next(i for i, text in enumerate(toml.read_text().splitlines(), 1) if "Linear(in=768" in text)
    assert main(["lint-assignment", str(toml), "--no-grade"]) == 1
    out = capsys.readouterr().out
    assert f"assignment.toml:{line}: models.build_dense.checks.layer_list.layers[0]: Linear(in=768, " \
           "out_features=32): Linear takes no setting 'in'; it takes in_features, out_features" in out


def test_files_weights_and_written_answers_are_checked_against_the_solution(assignment):
    edit(assignment / "assignment.toml", 'files = ["models.py"]', 'files = ["model.py"]')
    edit(assignment / "written.toml", 'answer = "It can learn the identity', 'answr = "It can learn the identity')
    problems, text = lint(assignment, grade_solution=False)
    found = {(p.where, p.message) for p in problems}
    assert ("models.TinyAE.files", f"none of model.py is in the solution ({assignment / 'solution'})") in found
    assert ("written: problems[0]", "written.toml: missing answer") in found
    tiny = next(p for p in problems if p.where == "models.TinyAE.files")
    assert text.splitlines()[tiny.line - 1].startswith('files = ["model.py"]')


def test_a_part_that_does_not_exist_fails_the_solution_and_is_named(assignment):
    edit(assignment / "assignment.toml", 'parts = { encoder = "encoder", decoder = "decoder" }',
         'parts = { encoder = "encode", decoder = "decoder" }')
    problems, text = lint(assignment)
    named = [p for p in problems if p.where.startswith("models.TinyAE.checks.")]
    assert named and all("the solution fails" in p.message for p in named)
    assert any("encode" in p.message for p in named)
    assert all(p.line for p in named)


def test_the_line_of_a_key_is_its_own_line_or_its_tables():
    text = '[models.AE]\nfiles = ["a.py"]\n\n[models.AE.checks]\ncode_size = 2\n[files."m.py"]\nchecks = 1\n'
    assert line_of(text, "models.AE.checks.code_size") == 5
    assert line_of(text, "models.AE.files") == 2
    assert line_of(text, 'files."m.py".checks') == 7
    assert line_of(text, "models.AE.checks.nothing") == 4
    assert line_of(text, "recipes.r") is None
