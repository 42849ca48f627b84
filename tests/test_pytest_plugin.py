"""The grading suite under plain pytest: the same verdicts, points from a marker, nothing from the submission."""

from __future__ import annotations

import shutil

import pytest

from autograder.grading.runner import grade
from tests.conftest import ROOT

pytest_plugins = ["pytester"]
BROKEN = ROOT / "submissions" / "cpsc663-ex2" / "broken-code-size"
SELECT = "5.4/AE/code_size or 5.4/AE/linear_layers"


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
def test_plain_pytest_gives_the_same_verdicts_as_autograder_grade(pytester):
    run = pytester.runpytest_subprocess("--pyargs", "autograder.suite", "--submission", str(BROKEN),
                                        "-k", SELECT, "-p", "no:cacheprovider", "-rf")
    out = run.stdout.str()
    assert "1 failed, 1 passed" in out and "FAILED" in out and "test_check[5.4/AE/code_size]" in out
    assert "AE.encoder maps an image to a code of shape 3" in out and "Traceback" not in out
    result = grade(BROKEN, keyword=SELECT)
    assert {c.check_id: c.passed for c in result.checks} == {"5.4/AE/linear_layers": True, "5.4/AE/code_size": False}


def test_points_marker_is_on_every_item(pytester):
    pytester.makeconftest("""
        def pytest_collection_modifyitems(items):
            for item in items:
                print("POINTS", item.nodeid.split("[")[-1], item.get_closest_marker("points").args[0])
    """)
    run = pytester.runpytest_subprocess("--pyargs", "autograder.suite", "--submission", str(BROKEN),
                                        "--collect-only", "-q", "-s", "-p", "no:cacheprovider")
    run.stdout.fnmatch_lines(["POINTS 5.4/AE/code_size] 2", "POINTS 6.2/CAE_skip/skip_connections] 4"])


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
def test_a_conftest_in_the_submission_changes_nothing(pytester, tmp_path):
    submission = tmp_path / "sneaky"
    shutil.copytree(BROKEN, submission)
    (submission / "conftest.py").write_text(
        "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    outcome.get_result().outcome = 'passed'\n"
    )
    (submission / "pytest.ini").write_text('[pytest]\naddopts = -k "not code_size"\n')
    result = grade(submission, keyword=SELECT)
    assert {c.check_id: c.passed for c in result.checks}["5.4/AE/code_size"] is False
    # plain pytest would read the submission's pytest.ini (it looks around every path argument): refused
    run = pytester.runpytest_subprocess("--pyargs", "autograder.suite", "--submission", str(submission),
                                        "-k", SELECT, "-p", "no:cacheprovider")
    assert run.ret != 0 and "passed" not in run.stdout.str()
    assert "pytest took its configuration from inside the submission" in run.stdout.str() + run.stderr.str()
    # ... and with the configuration pinned, the verdicts are the grader's
    run = pytester.runpytest_subprocess("-c", "/dev/null", "--rootdir", str(pytester.path), "--pyargs",
                                        "autograder.suite", "--submission", str(submission), "-k", SELECT,
                                        "-p", "no:cacheprovider")
    assert "1 failed, 1 passed" in run.stdout.str(), run.stdout.str()


def test_suite_without_a_submission_says_what_is_missing(pytester):
    run = pytester.runpytest_subprocess("--pyargs", "autograder.suite", "-p", "no:cacheprovider")
    assert run.ret != 0
    assert "the grading suite needs --submission PATH" in run.stdout.str() + run.stderr.str()


def test_an_unreadable_archive_is_one_failing_item(pytester, tmp_path):
    (tmp_path / "x.zip").write_text("not a zip")
    run = pytester.runpytest_subprocess("--pyargs", "autograder.suite", "--submission", str(tmp_path / "x.zip"),
                                        "-p", "no:cacheprovider")
    out = run.stdout.str()
    assert "1 error" in out and "the submission could not be graded: x.zip is not a readable zip archive" in out


@pytest.fixture(scope="module")
def pytest_help(tmp_path_factory) -> str:
    """``pytest --help`` as a new interpreter prints it, the plugin loaded from its entry point (once)."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], capture_output=True,
                          text=True, cwd=tmp_path_factory.mktemp("help"), check=True).stdout


@pytest.mark.parametrize("option", ["--submission", "--assignment", "--public-only"])
def test_options_are_documented(pytest_help, option):
    assert any(option in line for line in pytest_help.splitlines()), pytest_help[-2000:]
