"""Student self-check kits: nothing of the answer key but its public checks, and a check graded from them alone."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib

import numpy as np
import pytest

from autograder.answer_key import analytic_answer
from autograder.grading.checks.expected import Expected
from autograder.grading.plan import plan_checks
from autograder.grading.registry import load_assignment
from autograder.report.terminal import render_check_summary
from autograder.results import CheckResult, SubmissionResult
from autograder.spec import KIT_ENV, SpecError, parse_assignment
from autograder.student_kit.check import find_kit, instructor_points
from autograder.student_kit.smoke import check_smoke_training
from autograder.student_kit.toml_text import dumps
from autograder.student_kit.writer import write_kit
from tests.conftest import ROOT

ASSIGNMENTS = ("cpsc663-ex2", "ece4803-hw6", "keras-autoencoders", "mle-sheet6")
KIT_FILES = {"assignment.toml", "kit.toml", "written.toml"}

# Runs the command with the answer key unimportable: what a student's installation is.
WITHOUT_ANSWER_KEY = """
import sys

class NoAnswerKey:
    def find_spec(self, name, path=None, target=None):
        if name == "reference" or name.startswith("reference."):
            raise ModuleNotFoundError("no answer key on a student's machine")

sys.meta_path.insert(0, NoAnswerKey())
from autograder.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def kits(tmp_path_factory):
    out = tmp_path_factory.mktemp("kit")
    for assignment_id in ASSIGNMENTS:
        write_kit(assignment_id, out)
    return out


def kit_text(kits, assignment_id) -> str:
    return "\n".join(path.read_text() for path in sorted((kits / assignment_id).iterdir()))


def kit_data_text(kits, assignment_id) -> str:
    """The kit's files without their comments (which say what was left out)."""
    return "\n".join(line for line in kit_text(kits, assignment_id).splitlines() if not line.startswith("#"))


def number_tokens(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])", text))


def threshold_literals(assignment_id: str) -> set[str]:
    """Each calibrated bar and the statistics it comes from, as thresholds.json writes them."""
    text = load_assignment(assignment_id).paths["thresholds"].read_text()
    return set(re.findall(r'"(?:threshold|worst|best|mean)": (-?[\d.e-]+)', text))


def answer_literals(assignment_id: str) -> set[str]:
    """The answer key's numeric answers (not whole numbers, which shapes share), formatted as the answer key and
    students write them."""
    assignment = load_assignment(assignment_id)
    found = set()
    for problem in assignment.analytic:
        answer = analytic_answer(assignment, problem)
        values = answer.as_dict() if hasattr(answer, "as_dict") else answer
        for value in values.values():
            for number in np.asarray(value, dtype=np.float64).ravel():
                if number != round(number):
                    found |= {repr(float(number)), f"{number:.4g}", f"{number:.6g}", f"{number:.8f}".rstrip("0")}
    return found


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_kit_holds_no_threshold(kits, assignment_id):
    literals = threshold_literals(assignment_id)
    assert literals  # the answer key has bars to hide
    leaked = literals & number_tokens(kit_text(kits, assignment_id))
    assert not leaked, f"thresholds of {assignment_id} in its kit: {sorted(leaked)}"
    assert "threshold" not in kit_data_text(kits, assignment_id).lower()


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_kit_holds_no_numeric_answer(kits, assignment_id):
    leaked = answer_literals(assignment_id) & number_tokens(kit_text(kits, assignment_id))
    assert not leaked, f"answers of {assignment_id} in its kit: {sorted(leaked)}"


def test_the_numeric_answers_are_found_where_they_exist():
    assert "0.7469" in answer_literals("cpsc663-ex2")  # delta3[0], so the test above looks for something


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_kit_holds_no_hidden_check(kits, assignment_id):
    hidden = [case for case in plan_checks(load_assignment(assignment_id)) if case.visibility != "visible"]
    kit = load_assignment(str(kits / assignment_id / "assignment.toml"))
    kit_ids = {case.check_id for case in plan_checks(kit)}
    assert all(case.visibility == "visible" for case in plan_checks(kit))
    assert not {case.check_id for case in hidden} & kit_ids
    text = kit_text(kits, assignment_id)
    assert not [case.name for case in hidden if re.search(rf"\b{re.escape(case.name)}\b", text)]


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_kit_holds_no_solution_and_no_written_answer(kits, assignment_id):
    folder = kits / assignment_id
    assert {p.name for p in folder.iterdir()} == KIT_FILES
    assert {p.name for p in kits.iterdir() if not p.name.endswith(".whl")} == {*ASSIGNMENTS, "README.md"}
    text = kit_data_text(kits, assignment_id)
    for word in ("solution", "thresholds.json", "calibration", "analytic", "derivations", "reference", "rubric"):
        assert word not in text, word
    problems = tomllib.loads((folder / "written.toml").read_text())["problems"]
    assert problems and all(set(p) == {"id", "title", "points"} for p in problems)


def test_the_grader_students_install_holds_no_answer_key_and_the_readme_names_no_instructors_folder(kits):
    import zipfile

    from autograder.student_kit.wheel import answer_key_members

    wheels = sorted(kits.glob("autograder-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert {"autograder/cli.py", "autograder/host/client.py"} <= set(names) and not answer_key_members(wheels[0])
    assert not [n for n in names if n.startswith("reference") or n.endswith(("thresholds.json", "written.toml"))]
    readme = (kits / "README.md").read_text()
    assert f"python3 -m pip install {kits.name}/{wheels[0].name}" in readme
    assert f"autograder check --kit {kits.name}\n" in readme and str(kits.parent) not in readme


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_kit_points_and_the_instructors_make_the_answer_keys(kits, assignment_id):
    reference = load_assignment(assignment_id)
    kit = load_assignment(str(kits / assignment_id / "assignment.toml"))
    left = instructor_points(kit, 0.0)
    assert sum(c.points for c in plan_checks(kit)) + sum(p for _, p in left) == \
        pytest.approx(sum(c.points for c in plan_checks(reference)))
    assert kit.package is None and "thresholds" not in kit.paths and "solution" not in kit.paths


def test_cpsc663_kit_keeps_the_public_checks_and_smoke_tests_the_training(kits):
    kit = load_assignment(str(kits / "cpsc663-ex2" / "assignment.toml"))
    ids = {case.check_id for case in plan_checks(kit)}
    assert {"files/prob5_AE.py/present", "6.1/CAE/layer_list", "6.1/CAE/parameter_count", "5.4/AE/output_shapes",
            "6.2/CAE_skip/skip_connections", "5.4/AE/weights_load", "6.1/CAE/training_smoke"} <= ids
    assert not any(case.name in ("brief_training", "trained_weights") for case in plan_checks(kit))
    smoke = kit.subjects["CAE"].checks["training_smoke"]
    assert smoke.points == 0 and kit.recipe(smoke.options["recipe"]).steps <= 50
    assert kit.recipe(smoke.options["start"]).steps == 1


def test_a_parameter_count_from_the_solution_is_written_as_a_number(kits):
    kit = load_assignment(str(kits / "ece4803-hw6" / "assignment.toml"))
    assert kit.subjects["MyMLPAE"].checks["parameter_count"].options["count"] == 64 * 5 + 5 + 5 * 64 + 64


def test_a_kit_is_not_made_from_a_kit(kits, monkeypatch):
    monkeypatch.setenv(KIT_ENV, str(kits))
    with pytest.raises(SpecError, match="is a student kit already"):
        write_kit("cpsc663-ex2", kits / "again")


def test_the_kit_environment_variable_replaces_the_answer_key(kits, monkeypatch):
    monkeypatch.setenv(KIT_ENV, str(kits))
    assert load_assignment("cpsc663-ex2").root == kits / "cpsc663-ex2"
    with pytest.raises(SpecError, match="in the kit"):
        load_assignment("cpsc999")


def test_the_kit_is_found_in_or_beside_the_students_folder(kits, tmp_path, monkeypatch):
    monkeypatch.delenv(KIT_ENV, raising=False)
    work = tmp_path / "alice"
    work.mkdir()
    assert find_kit(work) is None
    shutil.copytree(kits, tmp_path / "kit")
    assert find_kit(work) == tmp_path / "kit"
    assert find_kit(work, kits) == kits
    with pytest.raises(SpecError, match="not a student kit"):
        find_kit(work, tmp_path / "alice")


def test_smoke_test_fails_when_the_error_does_not_fall():
    measured = {"metric": "reconstruction MSE", "higher_is_better": False, "before": 0.1, "after": 0.1,
                "steps": 50, "first_steps": 1}
    verdict = check_smoke_training(measured, Expected("AE"))
    assert not verdict.passed and "does not learn" in verdict.feedback
    assert check_smoke_training({**measured, "after": 0.05}, Expected("AE")).passed
    accuracy = {**measured, "metric": "accuracy", "higher_is_better": True, "before": 0.1, "after": 0.6}
    assert check_smoke_training(accuracy, Expected("CNN")).passed


def test_summary_never_says_all_passed_while_points_remain():
    result = SubmissionResult("alice", "cpsc663-ex2", checks=[CheckResult("a", "A", "1", 2.0, 2.0, True, "")])
    line = render_check_summary(result, [("hidden checks", 12.0), ("written answers", 37.0)])
    assert line == ("2 of 2 points checked here passed; 49 points are graded by the instructor (12 for hidden "
                    "checks, 37 for written answers).\n")
    assert "all" not in line


def test_one_point_is_a_point_and_the_folder_checked_from_inside_has_its_name(tmp_path, monkeypatch):
    from autograder.results import submission_name

    result = SubmissionResult("alice", "cpsc663-ex2", checks=[CheckResult("a", "A", "1", 1.0, 1.0, True, "")])
    assert render_check_summary(result, [("written answers", 1.0)]) == (
        "1 of 1 point checked here passed; 1 point is graded by the instructor (1 for written answers).\n")
    monkeypatch.chdir(tmp_path)
    assert submission_name(".") == tmp_path.name  # `autograder check` run in the folder names it


def test_toml_text_reads_back_the_same():
    data = {"id": "x", "files": {"a b.py": {"checks": {"present": 1}}}, "models": {"M": {"kwargs": {},
            "checks": {"c": {"points": 0.5, "predict": {"arg": 0, "parts": {"encoder": "enc"}}},
                       "layers": {"points": 1, "layers": ["Conv2d(in_channels=1)"] * 8}}}},
            "text": "quotes \" and \\ and ü\nand a tab\t", "tiny": 1e-07, "flag": False}
    text = dumps(data, "a header")
    assert text.startswith("# a header\n") and tomllib.loads(text) == data


# ---------------------------------------------------------------- `autograder check` with a kit, no answer key


def check_without_answer_key(*args, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if k != KIT_ENV}
    return subprocess.run([sys.executable, "-c", WITHOUT_ANSWER_KEY, "check", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # over 10 s: the full tier (tox -e full); the fast tier checks a broken one
def test_check_with_the_kit_passes_the_answer_key_and_says_what_remains(kits):
    run = check_without_answer_key(ROOT / "submissions/cpsc663-ex2/answer-key", "--kit", kits)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "✗" not in out and "–" not in out, out
    assert "CAE trains: its held-out error falls and stays finite" in out
    assert out.rstrip().splitlines()[-1] == (
        "53 of 53 points checked here passed; 74 points are graded by the instructor (12 for hidden checks, 25 for "
        "trained models against the answer key's bars, 37 for written answers).")
    assert "all passed" not in out.lower()


@pytest.mark.slow  # over 10 s on 2 busy cores: the full tier (tox -e full)
def test_check_finds_the_kit_beside_the_folder_and_names_the_failed_check(kits, tmp_path):
    expected = tomllib.loads((ROOT / "submissions/cpsc663-ex2/expected.toml").read_text())["broken-no-sigmoid"]
    (check_id, words), = expected["fails"].items()
    shutil.copytree(kits, tmp_path / "kit")
    shutil.copytree(ROOT / "submissions/cpsc663-ex2/broken-no-sigmoid", tmp_path / "broken-no-sigmoid")
    run = check_without_answer_key("broken-no-sigmoid", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr  # a failed check: a student's CI stops
    kit = parse_assignment(tmp_path / "kit/cpsc663-ex2/assignment.toml")
    title = next(case.title for case in plan_checks(kit) if case.check_id == check_id)
    failed = [line for line in run.stdout.splitlines() if line.lstrip().startswith("✗")]
    assert [line.split(maxsplit=2)[2] for line in failed] == [title], run.stdout
    assert words in run.stdout
    assert run.stdout.rstrip().splitlines()[-1].startswith("52 of 53 points checked here passed; 74 points are "
                                                           "graded by the instructor")


def test_check_without_answer_key_or_kit_says_how_to_get_one(tmp_path):
    run = check_without_answer_key(tmp_path, cwd=tmp_path)
    assert run.returncode == 2
    assert "no student kit was found: pass --kit DIR" in run.stderr
