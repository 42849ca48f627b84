"""Checks on the files themselves: present under the right name, and importable."""

from __future__ import annotations

from ...results import Verdict
from ..context import CheckFailed, GradingContext, student_traceback


def check_file_present(ctx: GradingContext, file: str) -> Verdict:
    if file in ctx.submission.renamed:
        return Verdict(False, f"{file} is missing: the submission has {ctx.submission.renamed[file]} instead. "
                              f"Its contents were graded as {file}; rename it to {file} at the top level.")
    if ctx.submission.has(file):
        return Verdict(True, f"{file} is present")
    hint = ""
    misses = ctx.submission.look_alikes([file])
    if misses:
        hint = f" Found {', '.join(misses)}: rename it to {file} and put it at the top level."
    return Verdict(False, f"{file} is missing from the submission; upload it at the top level, named exactly "
                          f"{file}.{hint}")


def check_module_imports(ctx: GradingContext, file: str) -> Verdict:
    if not ctx.submission.has(file):
        raise CheckFailed(f"not checked: {file} is missing")
    if ctx.scratch_path(file).stat().st_size == 0:
        return Verdict(False, f"{file} is empty")
    outcome = ctx.import_file(file)
    if outcome.get("error"):
        kept = ", ".join(n for n in outcome.get("modules", [])) or "nothing"
        return Verdict(False, f"importing {file} raised {student_traceback(outcome['error'])}; "
                              f"the grader kept what was defined before that point ({kept})")
    stopped = outcome.get("stopped")
    if stopped and stopped["reason"] != "training":  # a hang or an exit at import is a fault; training is a habit
        return Verdict(False, f"importing {file} did not finish: {ctx.describe_stop(stopped)}")
    if stopped:
        return Verdict(True, f"{file} imports; {ctx.describe_stop(stopped)}")
    return Verdict(True, f"{file} imports cleanly")
