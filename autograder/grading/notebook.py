"""The submission's notebook on the trusted side: run once in the worker, its report, notes and problem cells.

The notebook (the first ``.ipynb`` at the submission's top) runs in a real
kernel in the worker's sandbox; the kernel then serves every later request, so
what it defined is there to be checked. It is run again if its worker had to
be restarted.
"""

from __future__ import annotations

import re

from ..notebooks import NotebookProblem, find_notebook, problem_windows, validate
from . import limits
from .outcomes import CheckFailed

# errors that a batch cut to a few examples can cause (an index past its end, a size that no longer fits)
CUT_ERRORS = ("IndexError", "ValueError", "RuntimeError")
SIZE_WORDS = re.compile(r"size|shape|index|dimension|out of (?:bounds|range)|too many|not enough", re.IGNORECASE)


def _excuse_cut_errors(report: dict) -> None:
    """A cell that failed, with an error a smaller batch can cause, after the grader gave it cut batches (a
    training loader's, once its step budget was spent) failed under the grader's cut: not the student's."""
    cut = set(report.get("cut_cells", []))
    for cell in report.get("cells", []):
        error = cell.get("error") or {}
        if cell["status"] == "error" and cell["index"] in cut and error.get("ename") in CUT_ERRORS and \
                SIZE_WORDS.search(str(error.get("evalue", ""))):
            cell["status"] = "under the grader's cut"


def _notes(file: str, report: dict, seconds: float = limits.NOTEBOOK_SECONDS) -> list[str]:
    """What the student should know about how their notebook was run."""
    notes = []
    stopped = {c["index"] for c in report.get("cells", []) if c["status"] == "training stopped"}
    stopped |= set(report.get("throttled_cells", []))
    if stopped:
        cells = ", ".join(str(index + 1) for index in sorted(stopped))
        notes.append(f"{file}: training in cell(s) {cells} was cut to a few optimizer steps; the grader trains "
                     "your models itself, so the cells after them still ran")
    if report.get("keras_fits_stopped"):
        notes.append(f"{file}: {report['keras_fits_stopped']} Keras fit call(s) were stopped after a few batches "
                     "each; the grader trains your models itself")
    if report.get("skipped"):
        shown = "; ".join(report["skipped"][:6]) + ("; ..." if len(report["skipped"]) > 6 else "")
        notes.append(f"{file}: skipped, since grading is offline and headless: {shown}")
    for adapted in report.get("adapted", []):
        notes.append(f"{file}: {adapted}")
    for stand_in in report.get("stand_ins", []):
        notes.append(f"{file}: {stand_in}; the grader's checks on the real data set are not gradable here")
    if report.get("cuda_requests"):
        notes.append(f"{file}: the code asks for a CUDA GPU; there is none here, so it ran on the CPU")
    consequences = [c for c in report.get("cells", []) if c["status"] == "after stopped training"]
    if consequences:
        cells = ", ".join(str(c["index"] + 1) for c in consequences)
        notes.append(f"{file}: cell(s) {cells} failed using what a training cell the grader stopped was building "
                     "(a model or a list it fills after its loop); that is not counted against the notebook")
    under_cut = [c for c in report.get("cells", []) if c["status"] == "under the grader's cut"]
    if under_cut:
        cells = ", ".join(f"{c['index'] + 1} ({c['error']['ename']}: {str(c['error']['evalue'])[:80]})"
                          for c in under_cut)
        notes.append(f"{file}: cell(s) {cells} failed under the grader's reduced data (its training batches were cut "
                     "to a few examples to save time); not counted")
    not_run = [c for c in report.get("cells", []) if c["status"] == "not run"]
    if not_run:
        notes.append(f"{file}: {len(not_run)} cell(s) were not run: the notebook used up its "
                     f"{seconds / 60:g} minutes of computing")
    return notes


class NotebookRun:
    """The notebook of one submission: found, validated, run (once per worker), cut into problems."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.file = find_notebook(ctx.submission)
        self._problem: str | None = None
        self._validated = None
        self._report: dict | CheckFailed | None = None
        self._loaded_at: int | None = None  # the worker start that ran it

    def problem(self) -> str | None:
        """Why the file cannot be run, if it cannot."""
        if self.file is not None and self._validated is None and self._problem is None:
            try:
                self._validated = validate(self.ctx.submission.root / self.file)
            except NotebookProblem as problem:
                self._problem = str(problem)
        return self._problem

    def report(self) -> dict:
        """Run the notebook in the worker (once per worker); its report. CheckFailed if it cannot be run."""
        if self.file is None:
            raise CheckFailed("there is no notebook in the submission")
        if self.problem():
            raise CheckFailed(self._problem)
        cached = self._report
        if isinstance(cached, CheckFailed):
            raise cached
        if cached is not None and (not cached["ran"] or self._loaded_at == self.ctx.link.starts):
            return cached
        declared = self.ctx.assignment.notebook.step_budget if self.ctx.assignment.notebook else None
        answers = self.ctx.assignment.answers
        assignment = self.ctx.assignment
        settings = {"cell_seconds": limits.cell_seconds(assignment),
                    "notebook_seconds": limits.notebook_seconds(assignment),
                    "step_budget": max(declared or 0, limits.NOTEBOOK_STEP_BUDGET),
                    "watch": sorted(answers.variables) if answers and not answers.file else []}
        try:
            header, _ = self.ctx.link.call("load_notebook", f"running {self.file}",
                                           limits.notebook_seconds(assignment) + 90,
                                           file=self.file, settings=settings)
        except CheckFailed as failure:
            self._report = failure
            raise
        report = header["notebook"]
        _excuse_cut_errors(report)
        self._loaded_at = self.ctx.link.starts
        if cached is None:
            self.ctx.notes.extend(_notes(self.file, report, limits.notebook_seconds(self.ctx.assignment)))
        self._report = report
        return report

    def ready(self) -> bool:
        """True when the worker serving now holds the notebook's definitions."""
        if self.file is None:
            return False
        try:
            return self.report()["ran"]
        except CheckFailed:
            return False

    def names(self) -> dict:
        """What the notebook's namespace holds, by kind (the worker's import reply), for the worker now serving."""
        def read():
            header, _ = self.ctx.link.call("import", f"reading {self.file}", file=self.file)
            return header

        return self.ctx.memo(("notebook names", self._loaded_at), read)

    def window(self, problem: str) -> tuple[int, int] | None:
        """The notebook cells of a problem (start, end), when its headings say."""
        if not problem or self.problem() or self._validated is None:
            return None
        return problem_windows(self._validated, [problem]).get(problem)
