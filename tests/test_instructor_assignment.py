"""An assignment an instructor writes outside the project, and the variations real students' work has.

The test writes an MLP autoencoder lab the way a course would (``model.py`` with a
class taking the bottleneck width as an argument, trained weights saved as a
state_dict ``MLP.8.pth``), grades its solution before it is calibrated (the
instructor is told to calibrate, the student is not told the grader failed),
calibrates it by path, then grades submissions as a careful TA would: a class
named differently in case and ``_`` with a keyword named so too, a class of
another name (the only ``nn.Module`` of its file) with a keyword the assignment
accepts and its weights in a file of another name, a constructor whose parameter
has another name altogether (passed by position), and two files of classes or
weights where the grader must not guess.
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest
import torch

from autograder.calibration import SeedStarted, print_progress
from autograder.cli import assignment_argument
from autograder.common.signatures import map_arguments, map_keywords, parameters_of
from autograder.grading.registry import load_assignment
from autograder.grading.runner import grade
from autograder.spec import SpecError, parse_assignment

ASSIGNMENT = """
id = "mlp-lab"
title = "Lab 1: an MLP autoencoder"
solution = "solution"
thresholds = "thresholds.json"

[calibration]
seeds = [0, 1]

[data.digits]
source = "digits"

[files."model.py"]
problem = "1"
checks = { present = 1, imports = 1 }

[files."MLP.8.pth"]
problem = "1"
checks = { present = 1 }

[models.AE]
name = "autoencoderMLP4Layer"
problem = "1"
files = ["model.py"]
input = { shapes = [[64]] }
data = "digits"
kwargs = { N_bottleneck = 8 }
weights = ["MLP.8.pth"]

[models.AE.argument_aliases]
N_bottleneck = ["bottleneck", "n_code"]

[models.AE.checks]
constructs = 1
parameter_count = { points = 1, count = "solution" }
output_shapes = 1
weights_load = 2
trained_weights = { points = 3, recipe = "trained" }

[recipes.trained]
task = "reconstruct"
data = "digits"
steps = 300
batch_size = 32
optimizer = "adam"
lr = 0.005
"""

MODEL = '''
import torch
from torch import nn


class {name}(nn.Module):
    def __init__(self, {parameter}):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, {width})
        self.fc3 = nn.Linear({width}, 32)
        self.fc4 = nn.Linear(32, 64)

    def forward(self, x):
        code = self.fc2(torch.relu(self.fc1(x)))
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(code))))
'''

HELPER = '''

class {name}(nn.Module):
    def __init__(self, n_bottleneck):
        super().__init__()
        self.fc = nn.Linear(64, n_bottleneck)

    def forward(self, x):
        return self.fc(x)
'''

POINTS = 11


def model_source(name="autoencoderMLP4Layer", parameter="N_bottleneck=8", helper=None) -> str:
    """``model.py``: the class ``name`` whose constructor takes ``parameter`` (and a ``helper`` class)."""
    source = MODEL.format(name=name, parameter=parameter, width=parameter.split("=")[0])
    return source + (HELPER.format(name=helper) if helper else "")


def trained_state_dict() -> dict:
    """The solution's model trained on the digits the grader holds out from (a few hundred steps)."""
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    namespace: dict = {}
    exec(compile(model_source(), "model.py", "exec"), namespace)  # noqa: S102 - the test's own solution
    model = namespace["autoencoderMLP4Layer"]()
    x = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    for step in range(1500):
        batch = x[torch.randint(0, len(x), (64,), generator=torch.Generator().manual_seed(step))]
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(batch), batch).backward()
        optimizer.step()
    return model.state_dict()


def write_submission(folder, source: str, weights: dict) -> None:
    """A submission folder: ``model.py`` and weight files (name -> a state_dict, or a whole module pickled)."""
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(textwrap.dedent(source))
    for name, value in weights.items():
        torch.save(value, folder / name)


def by_id(result) -> dict:
    return {c.check_id: c for c in result.checks}


def autograder(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The lab as an instructor keeps it, outside the project: its assignment.toml and solution, uncalibrated."""
    root = tmp_path_factory.mktemp("course") / "lab1"
    (root / "solution").mkdir(parents=True)
    (root / "assignment.toml").write_text(ASSIGNMENT)
    (root / "solution" / "model.py").write_text(model_source())
    return root


@pytest.fixture(scope="module")
def weights():
    return trained_state_dict()


@pytest.fixture(scope="module")
def calibrated(lab, weights, tmp_path_factory):
    """The solution graded before calibration, then the lab calibrated by the path of its assignment.toml."""
    solution = tmp_path_factory.mktemp("solution") / "solution"
    write_submission(solution, model_source(), {"MLP.8.pth": weights})
    before = grade(solution, assignment_id=str(lab / "assignment.toml"), device="cpu", keyword="trained_weights")
    run = autograder("calibrate", lab / "assignment.toml", "--device", "cpu")
    return before, run


def graded(lab, calibrated, folder):
    assert calibrated[1].returncode == 0, calibrated[1].stderr
    return grade(folder, assignment_id=str(lab / "assignment.toml"), device="cpu")


# ---------------------------------------------------------------- calibration of an assignment kept anywhere


def test_grading_before_calibration_tells_the_instructor_to_calibrate_not_the_student_that_it_failed(lab,
                                                                                                      calibrated):
    before, _ = calibrated
    check = by_id(before)["1/AE/trained_weights"]
    assert check.status == "not gradable" and check.points == 0
    assert check.feedback == (f"not graded: this assignment has no thresholds yet: run `autograder calibrate "
                              f"{lab / 'assignment.toml'}` (the instructor's step before grading; no fault of this "
                              "submission)")
    assert "the grader itself failed" not in check.feedback
    assert any(f"this assignment has no thresholds yet ({lab / 'thresholds.json'} does not exist): run autograder "
               f"calibrate {lab / 'assignment.toml'}" in line for line in before.staff_log)


def test_calibrate_takes_the_path_of_an_assignment_kept_outside_the_project_and_shows_each_seed(lab, calibrated):
    _, run = calibrated
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.startswith("  trained seed 0 (1/2): reconstruction MSE") for line in lines), run.stdout
    assert any(line.startswith("  trained seed 1 (2/2): reconstruction MSE") for line in lines), run.stdout
    assert "training..." not in run.stdout  # not a terminal: a line per seed, as it ends
    assert lines[-1] == f"wrote {lab / 'thresholds.json'}"
    assert (lab / "thresholds.json").is_file()
    assert assignment_argument(str(lab)) == str(lab / "assignment.toml")  # its folder names it too
    assert load_assignment(assignment_argument(str(lab))).id == "mlp-lab"


def test_calibrate_help_names_a_path_or_an_id():
    shown = autograder("calibrate", "--help").stdout
    assert "PATH-or-ID" in shown and "assignment.toml" in shown


# ---------------------------------------------------------------- names the handout did not fix


def test_the_solution_gets_every_point(lab, calibrated, weights, tmp_path):
    write_submission(tmp_path / "solution", model_source(), {"MLP.8.pth": weights})
    result = graded(lab, calibrated, tmp_path / "solution")
    assert not result.failed(), [f"{c.check_id}: {c.feedback}" for c in result.failed()]
    assert result.score == result.max_score == POINTS
    assert not [note for note in result.notes if "graded `" in note or "names" in note]
    assert by_id(result)["1/AE/weights_load"].feedback == (
        "MLP.8.pth loads into autoencoderMLP4Layer (torch.load with weights_only=True, strict keys) "
        "[weight files in the submission: MLP.8.pth; used: MLP.8.pth]")


def test_a_class_and_keyword_named_differently_in_case_and_underscores_are_graded_with_a_note(lab, calibrated,
                                                                                               weights, tmp_path):
    write_submission(tmp_path / "student", model_source("AutoencoderMlp4Layer", "n_bottleneck=8"),
                     {"MLP.8.pth": weights})
    result = graded(lab, calibrated, tmp_path / "student")
    assert not result.failed(), [f"{c.check_id}: {c.feedback}" for c in result.failed()]
    assert result.score == POINTS
    assert "graded `AutoencoderMlp4Layer`: the handout names it `autoencoderMLP4Layer`; no check of this " \
           "assignment is on the name, so it costs no points, but name it as the handout does" in result.notes
    assert "AutoencoderMlp4Layer takes the handout's arguments under other names, so the grader passed " \
           "N_bottleneck as n_bottleneck; names cost no points" in result.notes


def test_the_only_module_class_of_the_file_taking_an_accepted_keyword_with_weights_of_another_name(
        lab, calibrated, weights, tmp_path):
    """A TA grades the class and the weights; only the check on the weight file's name is lost."""
    whole = torch.nn.Sequential(torch.nn.Linear(64, 8))  # a pickled whole model: never loaded
    write_submission(tmp_path / "student", model_source("Autoencoder", "n_code"),
                     {"trained_parameters.pth": weights, "whole_model.pt": whole})
    result = graded(lab, calibrated, tmp_path / "student")
    failed = {c.check_id: c.feedback for c in result.failed()}
    assert failed == {"files/MLP.8.pth/present": "MLP.8.pth is missing: the submission has trained_parameters.pth "
                      "instead. Its contents were graded as MLP.8.pth; rename it to MLP.8.pth at the top level."}
    assert result.score == POINTS - 1
    assert ("graded `Autoencoder`: the handout names it `autoencoderMLP4Layer`, which model.py does not define; "
            "`Autoencoder` is the only nn.Module class of model.py that takes N_bottleneck (no check of this "
            "assignment is on the name, so it costs no points, but name it as the handout does)") in result.notes
    assert ("Autoencoder takes the handout's arguments under other names, so the grader passed N_bottleneck as "
            "n_code (a name the assignment accepts for it); names cost no points") in result.notes
    assert ("graded trained_parameters.pth as autoencoderMLP4Layer's weights: the handout names the file MLP.8.pth, "
            "and trained_parameters.pth is the one weight file of the submission whose tensors fit "
            "autoencoderMLP4Layer (keys and shapes); rename it") in result.notes
    checks = by_id(result)
    used = " [weight files in the submission: trained_parameters.pth, whole_model.pt; used: trained_parameters.pth]"
    assert checks["1/AE/weights_load"].feedback == (
        "trained_parameters.pth loads into autoencoderMLP4Layer (torch.load with weights_only=True, strict keys); "
        "the handout names the file MLP.8.pth, and files/MLP.8.pth/present is the check on its name" + used)
    assert checks["1/AE/trained_weights"].feedback.startswith(
        "autoencoderMLP4Layer with trained_parameters.pth reaches reconstruction MSE")
    assert checks["1/AE/trained_weights"].feedback.endswith(used)


def test_a_parameter_of_another_name_takes_the_keyword_by_position_and_two_fitting_weight_files_are_not_guessed(
        lab, calibrated, weights, tmp_path):
    write_submission(tmp_path / "student", model_source("autoencoderMLP4Layer", "width"),
                     {"first.pth": weights, "second.pth": weights})
    result = graded(lab, calibrated, tmp_path / "student")
    failed = {c.check_id: c.feedback for c in result.failed()}
    no_guess = ("no weight file for autoencoderMLP4Layer: expected MLP.8.pth; first.pth and second.pth each fit "
                "autoencoderMLP4Layer (keys and shapes), so the grader cannot tell which holds its weights and "
                "loaded none: name that one MLP.8.pth")
    assert failed == {"files/MLP.8.pth/present": "MLP.8.pth is missing from the submission; upload it at the top "
                                                 "level, named exactly MLP.8.pth.",
                      "1/AE/weights_load": no_guess, "1/AE/trained_weights": no_guess}
    assert by_id(result)["1/AE/constructs"].passed and by_id(result)["1/AE/parameter_count"].passed
    assert ("autoencoderMLP4Layer takes the handout's arguments under other names, so the grader passed "
            "N_bottleneck by position (as width); names cost no points") in result.notes


def test_two_classes_that_could_be_the_subject_are_reported_and_none_is_guessed(lab, calibrated, weights, tmp_path):
    write_submission(tmp_path / "student", model_source("Autoencoder", "n_bottleneck=8", helper="Encoder"),
                     {"MLP.8.pth": weights})
    result = graded(lab, calibrated, tmp_path / "student")
    problem = ("model.py defines no class autoencoderMLP4Layer (it defines: Autoencoder, Encoder); `Autoencoder` "
               "and `Encoder` each take N_bottleneck, so the grader cannot tell which one is autoencoderMLP4Layer "
               "and graded none: name that class autoencoderMLP4Layer, as the handout does")
    failed = {c.check_id: c.feedback for c in result.failed()}
    assert set(failed) == {"1/AE/constructs", "1/AE/parameter_count", "1/AE/output_shapes", "1/AE/weights_load",
                           "1/AE/trained_weights"}
    assert all(problem in feedback for feedback in failed.values()), failed
    assert not [note for note in result.notes if "graded `" in note]


# ---------------------------------------------------------------- the declarations themselves


def test_keyword_matching_by_case_alias_and_position():
    def constructor(source: str):
        namespace: dict = {}
        exec(f"class C:\n    def __init__(self, {source}):\n        pass", namespace)  # noqa: S102
        return namespace["C"]

    def parameters(source: str):
        return parameters_of(constructor(source))

    aliases = {"N_bottleneck": ["bottleneck"]}
    assert map_keywords(parameters("N_bottleneck"), 0, ["N_bottleneck"]).changed == ()
    assert map_keywords(parameters("nbottleneck=2"), 0, ["N_bottleneck"]).keywords == {"N_bottleneck": "nbottleneck"}
    assert map_keywords(parameters("bottleneck, depth=2"), 0, ["N_bottleneck"], aliases).changed == (
        ("N_bottleneck", "bottleneck", "alias"),)
    assert map_keywords(parameters("width"), 0, ["N_bottleneck"]).by_position == ("N_bottleneck",)
    assert map_keywords(parameters("width, depth"), 0, ["N_bottleneck"]) is None  # two required, one declared
    assert map_keywords(parameters("width=8"), 0, ["N_bottleneck"]) is None  # not required: no position to take
    assert map_keywords(parameters("**options"), 0, ["N_bottleneck"]).changed == ()  # passed as it is
    # the call is still made under the parameter's name where another parameter lacks a value: the student's
    # own error then says which one
    assert map_arguments(constructor("n_bottleneck, depth"), [], {"N_bottleneck": 8})[:2] == ([], {"n_bottleneck": 8})
    assert map_arguments(constructor("width"), [], {"N_bottleneck": 8})[:2] == ([8], {})


def test_argument_aliases_must_name_a_declared_argument(tmp_path):
    toml = tmp_path / "assignment.toml"
    toml.write_text(ASSIGNMENT.replace('N_bottleneck = ["bottleneck", "n_code"]', 'code = ["n_code"]'))
    with pytest.raises(SpecError, match=r"models.AE.argument_aliases.code: 'code' is not one of its kwargs or "
                                        r"variants \(N_bottleneck\)"):
        parse_assignment(toml)
    toml.write_text(ASSIGNMENT.replace('name = "autoencoderMLP4Layer"', 'name = "autoencoderMLP4Layer"\n'
                                                                       'aliases = ["my model"]'))
    with pytest.raises(SpecError, match=r"models.AE.aliases: expected a list of Python names"):
        parse_assignment(toml)


def test_calibration_progress_is_a_line_per_seed_and_on_a_terminal_the_seed_in_training_too():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    started = SeedStarted("trained", 3, 1, 5)
    for stream, expected in ((io.StringIO(), "  trained seed 3 (2/5): MSE 0.02\n"),
                             (Terminal(), "\r  trained seed 3 (2/5): training...\r\033[K  trained seed 3 (2/5): "
                                          "MSE 0.02\n")):
        print_progress(started, stream)
        print_progress("  trained seed 3 (2/5): MSE 0.02", stream)
        assert stream.getvalue() == expected
