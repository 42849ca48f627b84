"""Everything one submission's checks share: the submission, the answer key, the worker, the data, the notes.

Measurements are made lazily and remembered (``memo``), so each check reads as
if it were alone (``-k`` one check and it still works) while the whole run
imports each file once and builds each model a handful of times.
"""

from __future__ import annotations

import time

from ..host.client import Worker
from ..spec import Assignment
from ..submission import Submission
from .data import DataAccess
from .link import WorkerLink
from .notebook import NotebookRun


class GradingContext:
    def __init__(self, assignment: Assignment, submission: Submission, worker: Worker, *,
                 data_dir=None, device: str = "cpu", ready=()):
        self.assignment = assignment
        self.submission = submission
        self.data_dir = data_dir
        self.device = device
        self.notes: list[str] = []
        self.staff_log: list[str] = []  # for instructors only: the grader's own failures
        self.cache: dict = {}  # measurements shared by checks, failures included
        self.stage_seconds: dict[str, float] = {}
        self.measured: list = []  # plain records measuring keeps for the feedback page's figures (grading/figures)
        from . import limits

        self.link = WorkerLink(worker, ready, on_time=self.add_time, call_seconds=limits.call_seconds(assignment),
                               submission_seconds=limits.submission_seconds(assignment))
        self.notebook = NotebookRun(self)
        self.data = DataAccess(assignment, data_dir, self.notes, self.staff_log)

    @property
    def worker(self) -> Worker:
        return self.link.worker

    def memo(self, key, make):
        """``make()`` once per key; a CheckFailed or NotGradable it raises is remembered and raised again."""
        if key not in self.cache:
            try:
                self.cache[key] = make()
            except Exception as failure:
                from .outcomes import CheckFailed, NotGradable

                if not isinstance(failure, (CheckFailed, NotGradable)):
                    raise
                self.cache[key] = failure
        value = self.cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def keep(self, record) -> None:
        """Keep a measurement's plain record (``measure/training.py``) for the figures made after the checks."""
        self.measured.append(record)

    def add_time(self, stage: str, started: float) -> None:
        self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.monotonic() - started

    def scratch_path(self, name: str):
        return self.submission.root / name
