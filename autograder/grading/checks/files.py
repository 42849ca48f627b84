"""Checks on the files themselves: present under the right name, and importable."""

from __future__ import annotations

from ...results import Verdict
from ..imports import describe_stop
from ..outcomes import student_traceback
from .expected import Expected


def check_file_present(presence: dict, expected: Expected) -> Verdict:
    """``presence``: ``present``, ``renamed_from`` (a misnamed file graded under this name), ``look_alikes``."""
    file = expected.name
    if presence["renamed_from"]:
        return Verdict(False, f"{file} is missing: the submission has {presence['renamed_from']} instead. "
                              f"Its contents were graded as {file}; rename it to {file} at the top level.")
    if presence["present"]:
        return Verdict(True, f"{file} is present")
    hint = ""
    if presence["look_alikes"]:
        hint = f" Found {', '.join(presence['look_alikes'])}: rename it to {file} and put it at the top level."
    return Verdict(False, f"{file} is missing from the submission; upload it at the top level, named exactly "
                          f"{file}.{hint}")


def check_module_imports(outcome: dict, expected: Expected) -> Verdict:
    """``outcome``: the worker's account of importing the file (or ``empty``)."""
    file = expected.name
    if outcome.get("empty"):
        return Verdict(False, f"{file} is empty")
    if outcome.get("error"):
        kept = ", ".join(n[:60] for n in outcome.get("modules", [])[:12]) or "nothing"
        return Verdict(False, f"importing {file} raised {student_traceback(outcome['error'])}; "
                              f"the grader kept what was defined before that point ({kept})")
    stopped = outcome.get("stopped")
    if stopped and stopped["reason"] != "training":  # a hang or an exit at import is a fault; training is a habit
        return Verdict(False, f"importing {file} did not finish: {describe_stop(stopped)}")
    if stopped:
        return Verdict(True, f"{file} imports; {describe_stop(stopped)}")
    return Verdict(True, f"{file} imports cleanly")
