"""The autograder's pytest plugin: ``--submission``, the ``points`` marker, checks as test items.

Registered through the ``pytest11`` entry point, so it is active wherever the
project is installed, and does nothing unless ``--submission`` is given.

    pytest -c /dev/null --rootdir . --pyargs autograder.suite --submission path/to/submission
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from .grading.session import grading_session
from .results import CheckResult
from .submission import SubmissionError

SESSION_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "grading a student submission")
    group.addoption("--submission", metavar="PATH",
                    help="the submission to grade: a folder or a .zip (e.g. --submission ~/hw2/alice.zip)")
    group.addoption("--assignment", metavar="ID",
                    help="the assignment id, e.g. cpsc663-ex2 (default: recognised from the files)")
    group.addoption("--data-dir", metavar="DIR", dest="autograder_data_dir",
                    help="folder of data sets laid out like ../shared/data (default: $AUTOGRADER_DATA_DIR)")
    group.addoption("--device", default="auto", dest="autograder_device",
                    help="where to train: auto (a CUDA GPU if present), cpu or cuda (default: auto)")
    group.addoption("--public-only", action="store_true",
                    help="run only the checks whose results students may see (visibility 'visible')")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): what a grading check is worth, e.g. @pytest.mark.points(2)")
    submission = config.getoption("submission", None)
    if submission:
        _refuse_configuration_from(Path(submission).resolve(), config)
        config.stash[SESSION_KEY] = {"stack": contextlib.ExitStack(), "results": []}


def _refuse_configuration_from(submission: Path, config) -> None:
    """pytest looks for its ini file around every path on its command line, the submission's too:
    a pytest.ini shipped in a submission must not steer the grading run."""
    for found in (config.inipath, config.rootpath):
        if found is not None and Path(found).resolve().is_relative_to(submission):
            raise pytest.UsageError(
                f"pytest took its configuration from inside the submission ({found}); grade with "
                "`autograder grade`, or pass `-c /dev/null --rootdir .` with --submission"
            )


def _session(config) -> dict:
    state = config.stash.get(SESSION_KEY, None)
    if state is None:
        raise pytest.UsageError("the grading suite needs --submission PATH")
    if "cases" not in state:
        try:
            context, cases = state["stack"].enter_context(grading_session(
                config.getoption("submission"), assignment_id=config.getoption("assignment"),
                data_dir=config.getoption("autograder_data_dir"), device=config.getoption("autograder_device"),
            ))  # fmt: skip
        except SubmissionError as error:
            state.update(context=None, cases=[], error=str(error))
            return state
        if config.getoption("public_only"):
            cases = [case for case in cases if case.visibility == "visible"]
        state.update(context=context, cases=cases, error=None)
    return state


def pytest_generate_tests(metafunc):
    if "check_case" not in metafunc.fixturenames:
        return
    state = _session(metafunc.config)
    if state["error"]:  # one failing item that says why nothing could be graded
        metafunc.parametrize("check_case", [pytest.param(None, id="submission")])
        return
    metafunc.parametrize("check_case", [
        pytest.param(case, id=case.check_id, marks=pytest.mark.points(_number(case.points)))
        for case in state["cases"]
    ])  # fmt: skip


def _number(points: float):
    return int(points) if float(points).is_integer() else points


@pytest.fixture(scope="session")
def grading_context(request):
    state = _session(request.config)
    if state["error"]:
        pytest.fail(f"the submission could not be graded: {state['error']}", pytrace=False)
    return state["context"]


@pytest.fixture
def record_check(request):
    """Store a check's result on the session, and on the test item for reporters."""
    results = _session(request.config)["results"]

    def record(result: CheckResult) -> None:
        results.append(result)
        request.node.user_properties.append(("points", f"{result.points:g}/{result.max_points:g}"))

    return record


def pytest_unconfigure(config):
    state = config.stash.get(SESSION_KEY, None)
    if state is not None:
        state["stack"].close()
