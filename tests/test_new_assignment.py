"""A fifth assignment, started from its solution: ``autograder new-assignment DIR --from SOLUTION``.

The test writes a solution the way a course keeps one (``model.py`` with an MLP autoencoder taking its
bottleneck width and a small CNN classifier of the digits, the CNN's trained weights saved as a state_dict, and
a notebook whose headings are the problems), drafts the assignment from it, and checks the draft as the
instructor would read it: each class with its layers, parameter count, output shape and code, the weight file
where it loads, a recipe per trainable model, the headings as problems, every guess marked. The draft loads and
lints without an edit; the slow tests calibrate it with two seeds and grade real-looking submissions with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib

import pytest
import torch

from autograder.grading.lint import lint
from autograder.grading.registry import load_assignment
from autograder.grading.runner import grade
from tests.test_cli import autograder  # in this process: the session's warm templates, no imports again

MODEL = '''
import torch
from torch import nn


class MLPAutoencoder(nn.Module):
    def __init__(self, bottleneck=8):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 32), nn.{activation}(), nn.Linear(32, bottleneck))
        self.decoder = nn.Sequential(nn.Linear(bottleneck, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class DigitCNN(nn.Module):
    def __init__(self, filters=8, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(1, filters, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(filters * 16, classes)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc(x.flatten(1))
'''

AE_LAYERS = ["Linear(in_features=64, out_features=32)", "ReLU", "Linear(in_features=32, out_features=8)",
             "Linear(in_features=8, out_features=32)", "ReLU", "Linear(in_features=32, out_features=64)", "Sigmoid"]
CNN_LAYERS = ["Conv2d(in_channels=1, out_channels=8, kernel_size=3, stride=1, padding=1)", "ReLU",
              "MaxPool2d(kernel_size=2, stride=2, padding=0)", "Linear(in_features=128, out_features=10)"]
AE_PARAMETERS = 64 * 32 + 32 + 32 * 8 + 8 + 8 * 32 + 32 + 32 * 64 + 64
CNN_PARAMETERS = 8 * 9 + 8 + 128 * 10 + 10
POINTS = 20  # files 2; AE: constructs 1, layers 2, count 1, shapes 1, code 1, training 2; CNN: 1 2 1 1 2, weights 1 + 2


def model_source(activation: str = "ReLU") -> str:
    return MODEL.format(activation=activation)


def notebook() -> dict:
    def cell(kind: str, source: str) -> dict:
        extra = {"outputs": [], "execution_count": None} if kind == "code" else {}
        return {"cell_type": kind, "metadata": {}, "source": source, **extra}

    cells = [cell("markdown", "# Lab 3: digits\nTwo models of the 8x8 digits."),
             cell("markdown", "## Problem 1: An MLP autoencoder"),
             cell("code", "from model import MLPAutoencoder\nautoencoder = MLPAutoencoder(8)"),
             cell("markdown", "## Problem 2: A CNN classifier"),
             cell("code", "from model import DigitCNN\nclassifier = DigitCNN()")]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 4}


def classes(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "model.py", "exec"), namespace)  # noqa: S102 - the test's own solution
    return namespace


def trained_cnn(steps: int = 400) -> dict:
    """The solution's CNN trained on the digits (a few seconds)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(digits.target)
    torch.manual_seed(0)
    model = classes(model_source())["DigitCNN"]()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(steps):
        index = torch.randint(0, len(x), (64,), generator=torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x[index]), y[index]).backward()
        optimizer.step()
    return model.state_dict()


def write_solution(folder, source: str, weights: dict) -> None:
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(textwrap.dedent(source))
    (folder / "lab3.ipynb").write_text(json.dumps(notebook()))
    for name, value in weights.items():
        torch.save(value, folder / name)


def child(*args) -> subprocess.CompletedProcess:
    """The command in a child process: calibrate sets torch's threads for the process it runs in."""
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def weights():
    return trained_cnn()


@pytest.fixture(scope="module")
def drafted(tmp_path_factory, weights):
    """The solution, kept where a course keeps it, and the assignment drafted from it by the command."""
    root = tmp_path_factory.mktemp("course")
    write_solution(root / "lab3-solution", model_source(), {"cnn.pth": weights})
    run = autograder("new-assignment", root / "lab3", "--from", root / "lab3-solution", "--id", "digits-lab")
    return root / "lab3", run


def read(drafted) -> dict:
    folder, run = drafted
    assert run.returncode == 0, run.stderr
    return tomllib.loads((folder / "assignment.toml").read_text())


# ---------------------------------------------------------------- the draft


def test_the_command_writes_the_toml_and_a_copy_of_the_solution_and_nothing_else(drafted):
    folder, run = drafted
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["assignment.toml", "solution"]
    assert sorted(p.name for p in (folder / "solution").iterdir()) == ["cnn.pth", "lab3.ipynb", "model.py"]
    lines = run.stdout.splitlines()
    assert lines[0] == f"wrote {folder / 'assignment.toml'}"
    assert f"  MLPAutoencoder (model.py): 7 layers, {AE_PARAMETERS:,} parameters, (64,) -> (64,), code 8" in lines
    assert f"  DigitCNN (model.py): 4 layers, {CNN_PARAMETERS:,} parameters, (1, 8, 8) -> (10,), weights cnn.pth" \
        in lines
    assert "  problems from lab3.ipynb's headings: 1, 2" in lines
    assert lines[-3:] == [f"  autograder lint-assignment {folder}", f"  autograder calibrate {folder}",
                          f"  autograder grade SUBMISSION --assignment {folder / 'assignment.toml'}"]


def test_each_module_class_is_a_subject_with_its_layers_count_shapes_and_code(drafted):
    data = read(drafted)
    assert data["id"] == "digits-lab" and data["solution"] == "solution"
    ae, cnn = data["models"]["MLPAutoencoder"], data["models"]["DigitCNN"]
    assert {k: ae[k] for k in ("name", "problem", "files", "input", "data", "kwargs", "parts")} == {
        "name": "MLPAutoencoder", "problem": "1", "files": ["model.py"], "input": {"shapes": [[64]]},
        "data": "digits", "kwargs": {"bottleneck": 8}, "parts": {"encoder": "encoder", "decoder": "decoder"}}
    assert ae["checks"] == {
        "constructs": 1, "layer_list": {"points": 2, "layers": AE_LAYERS},
        "parameter_count": {"points": 1, "count": "solution"}, "output_shapes": 1,
        "code_size": {"points": 1, "width": 8}, "brief_training": {"points": 2, "recipe": "MLPAutoencoder-brief"}}
    assert sum(p.numel() for p in classes(model_source())["MLPAutoencoder"]().parameters()) == AE_PARAMETERS
    assert {k: cnn[k] for k in ("problem", "input", "data", "kwargs", "weights")} == {
        "problem": "2", "input": {"shapes": [[1, 8, 8]]}, "data": "digits", "kwargs": {"filters": 8, "classes": 10},
        "weights": ["cnn.pth"]}
    assert "parts" not in cnn
    assert cnn["checks"] == {
        "constructs": 1, "layer_list": {"points": 2, "layers": CNN_LAYERS},
        "parameter_count": {"points": 1, "count": "solution"}, "output_shapes": {"points": 1, "outputs": 10},
        "brief_training": {"points": 2, "recipe": "DigitCNN-brief"}, "weights_load": 1,
        "trained_weights": {"points": 2, "recipe": "DigitCNN-brief"}}
    assert sum(p.numel() for p in classes(model_source())["DigitCNN"]().parameters()) == CNN_PARAMETERS


def test_a_recipe_per_trainable_model_with_a_step_budget_and_the_data_its_input_shape_suggests(drafted):
    data = read(drafted)
    assert data["data"] == {"digits": {"source": "digits"}}
    recipes = data["recipes"]
    assert set(recipes) == {"MLPAutoencoder-brief", "DigitCNN-brief"}
    assert {k: recipes["MLPAutoencoder-brief"][k] for k in ("task", "data", "steps", "batch_size", "optimizer")} == {
        "task": "reconstruct", "data": "digits", "steps": 300, "batch_size": 32, "optimizer": "adam"}
    assert {k: recipes["DigitCNN-brief"][k] for k in ("task", "data", "steps")} == {
        "task": "classify", "data": "digits", "steps": 300}


def test_the_notebook_headings_are_the_problems_and_the_guesses_are_marked(drafted):
    folder, _ = drafted
    data = read(drafted)
    assert data["problems"] == {"1": {"title": "Problem 1: An MLP autoencoder", "points": 10},
                                "2": {"title": "Problem 2: A CNN classifier", "points": 10}}
    assert sum(p["points"] for p in data["problems"].values()) == POINTS
    assert data["files"] == {"model.py": {"problem": "1", "checks": {"present": 1, "imports": 1}}}
    text = (folder / "assignment.toml").read_text()
    marked = [line for line in text.splitlines() if "# TODO check:" in line]
    for guess in ('title = "digits-lab"', 'problem = "1"', 'problem = "2"', "input = { shapes = [[64]] }",
                  'data = "digits"', "kwargs = { bottleneck = 8 }", "steps = 300", 'task = "classify"',
                  "code_size = "):
        assert any(line.startswith(guess) for line in marked), guess


def test_the_draft_loads_and_lints_without_an_edit(drafted):
    folder, _ = drafted
    read(drafted)
    assignment = load_assignment(str(folder / "assignment.toml"))
    assert assignment.id == "digits-lab" and set(assignment.subjects) == {"MLPAutoencoder", "DigitCNN"}
    assert [str(layer) for layer in assignment.expected_layers("MLPAutoencoder")] == AE_LAYERS
    problems, _ = lint(folder / "assignment.toml", grade_solution=False)
    assert problems == []
    run = autograder("lint-assignment", folder, "--no-grade")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == f"{folder / 'assignment.toml'}: no problems found"


def test_the_command_refuses_to_write_over_an_assignment_without_force(tmp_path):
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "assignment.toml").write_text('id = "mine"\n')
    (tmp_path / "solution").mkdir()
    run = autograder("new-assignment", tmp_path / "lab", "--from", tmp_path / "solution")
    assert run.returncode == 2
    assert run.stderr.strip() == (f"autograder: {tmp_path / 'lab' / 'assignment.toml'} exists; pass --force to write "
                                  f"over it (and over {tmp_path / 'lab' / 'solution'})")
    assert (tmp_path / "lab" / "assignment.toml").read_text() == 'id = "mine"\n'
    assert [p.name for p in (tmp_path / "lab").iterdir()] == ["assignment.toml"]
    run = autograder("new-assignment", tmp_path / "other", "--from", tmp_path / "missing")
    assert run.returncode == 2 and "does not exist" in run.stderr


# ---------------------------------------------------------------- calibrated and graded


@pytest.fixture(scope="module")
def calibrated(drafted):
    folder, _ = drafted
    read(drafted)
    run = child("calibrate", folder, "--seeds", "2", "--device", "cpu")
    assert run.returncode == 0, run.stdout + run.stderr
    return folder


def by_id(result) -> dict:
    return {c.check_id: c for c in result.checks}


@pytest.mark.slow
def test_calibrated_with_two_seeds_the_solution_lints_and_gets_every_point(calibrated, weights, tmp_path):
    thresholds = json.loads((calibrated / "thresholds.json").read_text())
    assert "MLPAutoencoder-brief" in json.dumps(thresholds) and "DigitCNN-brief" in json.dumps(thresholds)
    run = autograder("lint-assignment", calibrated)
    assert run.returncode == 0, run.stdout + run.stderr
    write_solution(tmp_path / "solution", model_source(), {"cnn.pth": weights})
    result = grade(tmp_path / "solution", assignment_id=str(calibrated / "assignment.toml"), device="cpu")
    assert not result.failed(), [f"{c.check_id}: {c.feedback}" for c in result.failed()]
    assert result.score == result.max_score == POINTS


@pytest.mark.slow
def test_a_wrong_layer_loses_exactly_the_layer_check(calibrated, weights, tmp_path):
    write_solution(tmp_path / "student", model_source("Tanh"), {"cnn.pth": weights})
    result = grade(tmp_path / "student", assignment_id=str(calibrated / "assignment.toml"), device="cpu")
    failed = {c.check_id: c.feedback for c in result.failed()}
    assert failed == {"1/MLPAutoencoder/layer_list": "MLPAutoencoder's layers differ from the handout's list: layer "
                      "2 should be ReLU, found Tanh. Compare your forward pass with the list in Problem 1, in order."}
    assert result.score == POINTS - 2


@pytest.mark.slow
def test_untrained_weights_lose_only_the_check_that_they_are_trained(calibrated, tmp_path):
    torch.manual_seed(1)
    untrained = classes(model_source())["DigitCNN"]().state_dict()
    write_solution(tmp_path / "student", model_source(), {"cnn.pth": untrained})
    result = grade(tmp_path / "student", assignment_id=str(calibrated / "assignment.toml"), device="cpu")
    failed = {c.check_id: c.feedback for c in result.failed()}
    assert set(failed) == {"2/DigitCNN/trained_weights"}, failed
    feedback = failed["2/DigitCNN/trained_weights"]
    assert "cnn.pth reaches accuracy" in feedback and "majority class" in feedback, feedback
    assert by_id(result)["2/DigitCNN/weights_load"].passed
    assert result.score == POINTS - 2


def test_nothing_under_the_package_names_the_drafted_assignment():
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "autograder"
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "digits-lab" not in text and "MLPAutoencoder" not in text and "DigitCNN" not in text, path


def test_a_file_that_reads_options_when_imported_is_drafted_as_a_program_with_a_script_to_fill_in():
    from autograder.authoring.new_assignment import render
    from autograder.authoring.survey import Survey, is_program

    assert is_program("import argparse\nargs = argparse.ArgumentParser().parse_args()\n")
    assert is_program("import sys\nwidth = int(sys.argv[1])\n") and is_program("name = input('> ')\n")
    assert not is_program("import argparse\ndef main():\n    return argparse.ArgumentParser().parse_args()\n"
                          "if __name__ == '__main__':\n    main()\n")
    text = render(Survey(["model.py"], None, [], [], [], programs=["train.py"]), "lab", "solution", "a test")
    drafted = tomllib.loads(text)
    assert drafted["files"]["train.py"] == {"problem": "1", "program": True, "checks": {"present": 1}}
    assert drafted["files"]["model.py"]["checks"] == {"present": 1, "imports": 1}
    assert "# TODO check: train.py is a command-line program" in text and '# kind = "script"' in text
