"""The check that the submission's notebook runs: executed in a real kernel in the worker."""

from __future__ import annotations

from ...results import Verdict
from ..context import GradingContext

SHOWN_ERRORS = 4


def _describe(cell: dict) -> str:
    error = cell["error"] or {}
    where = f"cell {cell['index'] + 1} (`{cell['first_line']}`)"
    if cell["status"] == "timeout":
        return f"{where} did not finish within the time limit"
    return f"{where} raised {error.get('ename', 'an error')}: {error.get('evalue', '')}".rstrip(": ")


def check_notebook_runs(ctx: GradingContext) -> Verdict:
    if ctx.notebook_file is None:
        return Verdict(True, "no notebook was submitted (it is optional)")
    report = ctx.notebook_report()
    if not report["ran"]:
        return Verdict(False, f"{ctx.notebook_file} could not be run: {report.get('problem', 'unknown problem')}")
    cells = report.get("cells", [])
    failed = [c for c in cells if c["status"] in ("error", "timeout")]
    if failed:
        shown = "; ".join(_describe(c) for c in failed[:SHOWN_ERRORS])
        more = f"; and {len(failed) - SHOWN_ERRORS} more" if len(failed) > SHOWN_ERRORS else ""
        return Verdict(False, f"{ctx.notebook_file}: {len(failed)} of {len(cells)} code cells failed: {shown}{more}. "
                              "The other cells ran, and everything the notebook defined was graded.")
    return Verdict(True, f"{ctx.notebook_file}: all {len(cells)} code cells ran ({report.get('seconds', 0):.0f} s)")
