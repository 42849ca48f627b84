"""A lab run from the command line: ``python train.py -z 8 -e 50 -s MLP.8.pth``, graded as a script subject.

The test writes the lab as a course would (``model.py`` with an MLP autoencoder
taking its bottleneck width, ``train.py`` parsing ``-z -e -s`` with argparse,
training on scikit-learn's digits and saving a state_dict), calibrates it by
path, then grades the solution and broken variants of ``train.py``: each loses
exactly the checks its fault breaks, with a message that says what was expected,
what was found and what to try.
"""

from __future__ import annotations

import textwrap

import pytest

from autograder.grading.registry import load_assignment
from autograder.grading.runner import grade
from autograder.spec import SpecError, parse_assignment

ASSIGNMENT = r"""
id = "mlp-script-lab"
title = "Lab 1: train an MLP autoencoder from the command line"
solution = "solution"
thresholds = "thresholds.json"

[calibration]
seeds = [0, 1]

[data.digits]
source = "digits"

[files."model.py"]
problem = "1"
checks = { present = 1, imports = 1 }

[files."train.py"]
problem = "1"
program = true
checks = { present = 1 }

[models.AE]
name = "autoencoderMLP4Layer"
problem = "1"
files = ["model.py"]
input = { shapes = [[64]] }
data = "digits"
kwargs = { N_bottleneck = 8 }

[models.AE.checks]
constructs = 1

[models.train]
kind = "script"
file = "train.py"
problem = "1"
args = ["-z", 8, "-e", "50", "-s", "MLP.8.pth"]

[models.train.checks]
runs = 1
writes = { points = 1, files = ["MLP.8.pth", "*.png"] }
prints = { points = 1, pattern = "epoch \\d+ loss \\d" }
written_weights = { points = 3, model = "AE", file = "MLP.8.pth", recipe = "trained" }

[recipes.trained]
task = "reconstruct"
data = "digits"
steps = 150
batch_size = 32
optimizer = "adam"
lr = 0.005
"""

MODEL = '''
import torch
from torch import nn


class autoencoderMLP4Layer(nn.Module):
    def __init__(self, N_bottleneck=8):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, N_bottleneck)
        self.fc3 = nn.Linear(N_bottleneck, 32)
        self.fc4 = nn.Linear(32, 64)

    def forward(self, x):
        code = self.fc2(torch.relu(self.fc1(x)))
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(code))))
'''

TRAIN = '''
import argparse

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

from model import autoencoderMLP4Layer

parser = argparse.ArgumentParser()
parser.add_argument("-z", type=int, default=8)
parser.add_argument("-e", type=int, default=10)
parser.add_argument("-s", dest="save_path", default="weights.pth")
args = parser.parse_args()

x = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
loader = DataLoader(TensorDataset(x), batch_size=32, shuffle=True)
model = autoencoderMLP4Layer(args.z)
optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
losses = []
for epoch in range(args.e):
    for (batch,) in loader:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(batch), TARGET)
        loss.backward()
        optimizer.step()
    losses.append(loss.item())
    print(f"epoch {epoch} loss {loss.item():.4f}")
torch.save(model.state_dict(), SAVED)
plt.plot(losses)
plt.savefig("loss.png")
'''

POINTS = 10


def train_source(target="batch", saved="args.save_path", prints=True, before="") -> str:
    source = TRAIN.replace("TARGET", target).replace("SAVED", saved)
    if not prints:
        source = source.replace('    print(f"epoch {epoch} loss {loss.item():.4f}")\n', "")
    return before + source


def write_submission(folder, train: str, model: str = MODEL):
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(textwrap.dedent(model))
    (folder / "train.py").write_text(textwrap.dedent(train))
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The lab kept outside the project, calibrated by the path of its assignment.toml."""
    from autograder.calibration import calibrate

    root = tmp_path_factory.mktemp("course") / "lab1"
    (root / "solution").mkdir(parents=True)
    (root / "assignment.toml").write_text(ASSIGNMENT)
    (root / "solution" / "model.py").write_text(MODEL)
    (root / "solution" / "train.py").write_text(train_source())
    calibrate(load_assignment(str(root / "assignment.toml")), device="cpu", progress=lambda message: None)
    return root


def graded(lab, folder):
    result = grade(folder, assignment_id=str(lab / "assignment.toml"), device="cpu")
    assert result.error is None, result.error
    return result, {c.check_id: c for c in result.checks}


def failed(checks) -> dict[str, str]:
    return {check_id: check.feedback for check_id, check in checks.items() if not check.passed}


RUN = "python train.py -z 8 -e 50 -s MLP.8.pth"


# ---------------------------------------------------------------- grading scripts


@pytest.mark.slow
def test_the_solution_gets_every_point_and_its_training_is_capped(lab, tmp_path):
    result, checks = graded(lab, write_submission(tmp_path / "solution", train_source()))
    assert not failed(checks), failed(checks)
    assert result.score == result.max_score == POINTS
    assert checks["1/train/runs"].feedback == f"{RUN} ran to its end (its training capped at 150 optimizer steps)"
    assert checks["1/train/writes"].feedback == f"{RUN} wrote MLP.8.pth, loss.png"
    assert checks["1/train/prints"].feedback.startswith(f"{RUN} printed 'epoch ")
    weights = checks["1/train/written_weights"].feedback
    assert weights.startswith("autoencoderMLP4Layer with MLP.8.pth reaches reconstruction MSE"), weights
    assert weights.endswith(f"(MLP.8.pth as {RUN} wrote it, its training capped at 150 optimizer steps)")
    assert checks["1/train/runs"].title == "train.py runs to its end with the handout's arguments"


@pytest.mark.slow
def test_a_script_that_saves_under_another_name_loses_the_files_it_did_not_write(lab, tmp_path):
    _, checks = graded(lab, write_submission(tmp_path / "student", train_source(saved='"model.pth"')))
    assert failed(checks) == {
        "1/train/writes": f"{RUN} did not write MLP.8.pth: it wrote loss.png, model.pth. Write each file under the "
                          "name the command line gives (relative to the folder it runs in)",
        "1/train/written_weights": f"not checked: {RUN} did not write MLP.8.pth (it wrote loss.png, model.pth)",
    }


@pytest.mark.slow
def test_a_script_that_raises_names_the_exception_and_the_students_line(lab, tmp_path):
    _, checks = graded(lab, write_submission(tmp_path / "student", train_source(saved="args.save")))
    raised = (f"{RUN} raised AttributeError: 'Namespace' object has no attribute 'save' (in train.py, line 30, in "
              "<module>: torch.save(model.state_dict(), args.save))")
    assert failed(checks) == {
        "1/train/runs": f"{raised}. Expected it to run to its end with these arguments; run `{RUN}` yourself in a "
                        "folder holding only your submitted files",
        "1/train/writes": f"{RUN} did not write MLP.8.pth, *.png: it wrote nothing. The run ended before that: "
                          f"{raised}. Write each file under the name the command line gives (relative to the folder "
                          "it runs in)",
        "1/train/written_weights": f"not checked: {RUN} did not write MLP.8.pth: {raised}",
    }


@pytest.mark.slow
def test_a_script_that_prints_nothing_loses_the_prints_check_only(lab, tmp_path):
    _, checks = graded(lab, write_submission(tmp_path / "student", train_source(prints=False)))
    assert set(failed(checks)) == {"1/train/prints"}
    feedback = failed(checks)["1/train/prints"]
    assert feedback.startswith(f"{RUN} printed nothing"), feedback  # stderr, if anything, is shown apart
    assert feedback.endswith("; expected output matching 'epoch \\\\d+ loss \\\\d'. Print what the handout asks "
                             "for (print(...) to the console)")


@pytest.mark.slow
def test_input_at_the_top_of_the_script_is_reported_as_asking_for_input(lab, tmp_path):
    train = train_source(before='name = input("weights file? ")\n')
    _, checks = graded(lab, write_submission(tmp_path / "student", train))
    asked = (f"{RUN} asked for input (in train.py, line 1: name = input(\"weights file? \")), but the grader runs it "
             "with an empty stdin: take what it needs from its command-line arguments (argparse) instead of input()")
    assert failed(checks) == {
        "1/train/runs": f"{asked}. Expected it to run to its end with these arguments; run `{RUN}` yourself in a "
                        "folder holding only your submitted files",
        "1/train/writes": f"{RUN} did not write MLP.8.pth, *.png: it wrote nothing. The run ended before that: "
                          f"{asked}. Write each file under the name the command line gives (relative to the folder it "
                          "runs in)",
        "1/train/prints": f"{RUN} printed nothing; expected output matching 'epoch \\\\d+ loss \\\\d'. The run ended "
                          f"early: {asked}. Print what the handout asks for (print(...) to the console)",
        "1/train/written_weights": f"not checked: {RUN} did not write MLP.8.pth: {asked}",
    }


@pytest.mark.slow
def test_input_when_a_file_is_imported_says_so(lab, tmp_path):
    model = MODEL + '\nWIDTH = int(input("width? "))\n'
    _, checks = graded(lab, write_submission(tmp_path / "student", train_source(), model=model))
    assert checks["files/model.py/imports"].feedback.startswith(
        "importing model.py raised EOFError: asks for input when imported (the grader's stdin is empty) (in model.py, "
        "line 18")
    assert checks["1/train/runs"].feedback.startswith(f"{RUN} asked for input (in model.py, line 18")


@pytest.mark.slow
def test_a_script_that_trains_a_wrong_model_loses_only_the_written_weights(lab, tmp_path):
    _, checks = graded(lab, write_submission(tmp_path / "student", train_source(target="torch.zeros_like(batch)")))
    assert set(failed(checks)) == {"1/train/written_weights"}
    feedback = failed(checks)["1/train/written_weights"]
    assert feedback.startswith("autoencoderMLP4Layer with the weights in MLP.8.pth reaches reconstruction MSE")
    assert "a trained model reaches" in feedback and "the reference reaches" in feedback
    assert feedback.endswith(f"(MLP.8.pth as {RUN} wrote it, its training capped at 150 optimizer steps)")


# ---------------------------------------------------------------- the declarations


def _toml(tmp_path, text: str):
    path = tmp_path / "assignment.toml"
    path.write_text(text)
    return path


def test_a_script_subject_is_read_with_its_command_line_and_a_program_file_is_marked(tmp_path):
    assignment = load_assignment(str(_toml(tmp_path, ASSIGNMENT)))
    script = assignment.subjects["train"]
    assert (script.kind, script.name, script.script, script.files) == ("script", "train.py", "train.py",
                                                                       ("train.py",))
    assert script.args == ("-z", "8", "-e", "50", "-s", "MLP.8.pth")
    assert [f.program for f in assignment.files] == [False, True]
    assert assignment.recipe("trained").subject == "AE"  # calibrated on the model the written weights load into
    assert "train" not in assignment.models


@pytest.mark.parametrize(("change", "message"), [
    (('checks = { present = 1 }\n\n[models.AE]', 'checks = { present = 1, imports = 1 }\n\n[models.AE]'),
     r'files.train.py.checks.imports: train.py is a program \(program = true\), which the grader runs and never '
     r'imports; check it with a script subject'),
    (('files = ["model.py"]', 'files = ["model.py", "train.py"]'),
     r"models.AE.files names train.py, a program \(program = true\), which the grader never imports"),
    (('args = ["-z", 8,', 'args = ["-z", true,'), r"models.train.args: a command-line argument is a string"),
    (('file = "train.py"', 'file = "train.ipynb"'), r"models.train.file: 'train.ipynb' is not a .py file"),
    (('model = "AE"', 'model = "train"'), r"model 'train' is not a torch subject"),
    (('data = "digits"\nkwargs', 'steps = 5\ndata = "digits"\nkwargs'), r"'file' and 'steps' are for kind = 'script'"),
    (('writes = { points = 1, files = ["MLP.8.pth", "*.png"] }', 'writes = 1'), r"writes needs files"),
])
def test_mistakes_in_a_script_declaration_are_named(tmp_path, change, message):
    text = ASSIGNMENT.replace(*change)
    assert text != ASSIGNMENT
    with pytest.raises(SpecError, match=message):
        load_assignment(str(_toml(tmp_path, text)))


def test_script_checks_apply_to_script_subjects_only(tmp_path):
    text = ASSIGNMENT.replace("constructs = 1", 'constructs = 1\nruns = 1')
    with pytest.raises(SpecError, match=r"runs applies to subjects of kind script, not torch"):
        load_assignment(str(_toml(tmp_path, text)))
    assert parse_assignment(_toml(tmp_path, ASSIGNMENT)).subjects["train"].steps is None
