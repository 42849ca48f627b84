"""Gradescope's results.json, and a check of a results.json against Gradescope's documented format.

The format is Gradescope's "Autograder Specifications"
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): a top-level
score, and one entry per test with its score, max_score, status, name, output
and visibility. Visibility is each check's own (``visible``: students see it at
once; ``after_due_date``, ``after_published``: hidden until then, and while any
test is hidden students do not see their total). The grader's stdout, which
holds every check's feedback and the staff's tracebacks, stays hidden.
"""

from __future__ import annotations

import json
import math

from ..results import CheckResult, SubmissionResult

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
FORMATS = ("text", "html", "simple_format", "md", "ansi")
STATUSES = ("passed", "failed")
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}
NOT_GRADABLE = ("Graded by your instructor: the autograder could not grade this check here (not a fault found in "
                "your work).")


def gradescope_results(result: SubmissionResult) -> dict:
    """The results.json of one graded submission. Outputs are plain text (students' file names and code can
    appear in them, never rendered as HTML)."""
    common = {"execution_time": round(result.seconds), "output_format": "text", "test_output_format": "text",
              "test_name_format": "text", "visibility": "visible", "stdout_visibility": "hidden"}
    if result.error:
        return {"score": 0, **common, "output": f"Your submission could not be graded: {result.error}", "tests": []}
    return {
        "score": result.score,
        **common,
        "output": _overall_output(result),
        "extra_data": {"assignment": result.assignment, "max_score": result.max_score, "device": result.device,
                       "not_gradable_points": result.not_gradable_points, "manual_points": result.manual_points,
                       **({"partial_run": result.selection} if result.selection else {})},
        "tests": [_test(check) for check in result.checks],
    }


def _test(check: CheckResult) -> dict:
    test = {"name": check.title, "number": check.check_id, "score": check.points, "max_score": check.max_points,
            "status": "passed" if check.passed else "failed", "output": check.feedback,
            "visibility": check.visibility}
    if not check.gradable:  # Gradescope knows passed and failed only: hidden from students, who are told in the
        # overall output; what the staff need (which data, how to provide it) is in extra_data and the hidden stdout
        test.update(output=NOT_GRADABLE, tags=["not gradable"], visibility="hidden",
                    extra_data={"staff": check.feedback})
    return test


def _overall_output(result: SubmissionResult) -> str:
    lines = [f"Note: {result.partial_note}"] if result.selection else []
    lines += [f"Note: {note}" for note in result.notes]
    if result.manual:
        parts = ", ".join(f"{p['problem']} ({p['points']:g})" for p in result.manual)
        lines.append(f"Graded by hand, not by the autograder: {result.manual_points:g} points ({parts}).")
    if result.not_gradable_points:
        lines.append(f"{result.not_gradable_points:g} points are graded by your instructor (the autograder could not "
                     "grade those checks here); they are not in this score.")
    return "\n".join(lines)


def write_gradescope(result: SubmissionResult, path) -> None:
    with open(path, "w") as f:
        json.dump(gradescope_results(result), f, indent=1)


def gradescope_problems(data) -> list[str]:
    """What in ``data`` (a parsed results.json) does not follow Gradescope's format, one sentence each; empty
    when it does. Checks the keys, types and allowed values of the top level and of every test."""
    if not isinstance(data, dict):
        return [f"the top level is a {type(data).__name__}, not an object"]
    problems = [f"unknown top-level key {key!r}" for key in sorted(set(data) - TOP_KEYS)]
    problems += _number(data, "score", "top level") + _number(data, "execution_time", "top level")
    problems += _text(data, "output", "top level") + _choice(data, "visibility", VISIBILITIES, "top level")
    problems += _choice(data, "stdout_visibility", VISIBILITIES, "top level")
    for key in ("output_format", "test_output_format", "test_name_format"):
        problems += _choice(data, key, FORMATS, "top level")
    if "extra_data" in data and not isinstance(data["extra_data"], dict):
        problems.append("top level: extra_data is not an object")
    tests = data.get("tests", [])
    if not isinstance(tests, list):
        return [*problems, "top level: tests is not a list"]
    if "score" not in data and (not tests or any("score" not in t for t in tests if isinstance(t, dict))):
        problems.append("no top-level score, and not every test has a score")
    for index, test in enumerate(tests):
        problems += _test_problems(test, f"tests[{index}]")
    return problems


def _test_problems(test, where: str) -> list[str]:
    if not isinstance(test, dict):
        return [f"{where} is a {type(test).__name__}, not an object"]
    problems = [f"{where}: unknown key {key!r}" for key in sorted(set(test) - TEST_KEYS)]
    problems += _number(test, "score", where) + _number(test, "max_score", where)
    problems += _text(test, "name", where) + _text(test, "number", where) + _text(test, "output", where)
    problems += _choice(test, "status", STATUSES, where) + _choice(test, "visibility", VISIBILITIES, where)
    problems += _choice(test, "name_format", FORMATS, where) + _choice(test, "output_format", FORMATS, where)
    tags = test.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        problems.append(f"{where}: tags is not a list of strings")
    if "extra_data" in test and not isinstance(test["extra_data"], dict):
        problems.append(f"{where}: extra_data is not an object")
    return problems


def _number(data: dict, key: str, where: str) -> list[str]:
    if key not in data:
        return []
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return [f"{where}: {key} is {value!r}, not a finite number"]
    return []


def _text(data: dict, key: str, where: str) -> list[str]:
    if key in data and not isinstance(data[key], str):
        return [f"{where}: {key} is {data[key]!r}, not a string"]
    return []


def _choice(data: dict, key: str, allowed: tuple[str, ...], where: str) -> list[str]:
    if key in data and data[key] not in allowed:
        return [f"{where}: {key} is {data[key]!r}, not one of {', '.join(allowed)}"]
    return []
