"""The trusted side's calls into a submission's worker, within the submission's time budget.

A call that fails because of the student's code (an exception, a crash, a
timeout, something missing) becomes ``CheckFailed`` with a message naming what
was running; the grader's own faults stay errors. A worker that died is started
again for the next call, a few times at most.
"""

from __future__ import annotations

import time

from ..worker.client import Worker, WorkerFailure
from . import limits
from .outcomes import CheckFailed, student_traceback


class WorkerLink:
    def __init__(self, worker: Worker, ready=(), on_time=None):
        self.worker = worker
        self.started = time.monotonic()
        self._ready = list(ready)  # futures the worker's first request must wait for (the data it reads)
        self._on_time = on_time or (lambda stage, started: None)

    def budget_left(self) -> float:
        left = limits.SUBMISSION_SECONDS - (time.monotonic() - self.started)
        if left <= 0:
            raise CheckFailed(f"not run: this submission used up its grading time ({limits.SUBMISSION_SECONDS // 60} "
                              "minutes for all its checks)")
        return left

    @property
    def starts(self) -> int:
        return self.worker.starts

    def _ensure_started(self) -> None:
        if self.worker.alive:
            return
        if self.worker.starts >= limits.MAX_WORKER_STARTS:
            raise CheckFailed(f"not run: the student's code ended its worker {self.worker.starts} times, "
                              "so the grader stopped starting new ones for this submission")
        started = time.monotonic()
        try:
            self.worker.start()
        except WorkerFailure as failure:
            raise CheckFailed(failure.message) from None
        finally:
            self._on_time("start", started)

    def call(self, op: str, what: str, timeout: float | None = None, arrays=None, **fields):
        """A worker call whose failures (timeout, crash) become a CheckFailed naming what was running."""
        timeout = min(timeout or limits.TIMEOUT_CALL, self.budget_left())
        self._ensure_started()
        while self._ready:
            self._ready.pop().result()
        try:
            header, out = self.worker.call(op, what, timeout, arrays=arrays, **fields)
        except WorkerFailure as failure:
            raise CheckFailed(failure.message) from None
        if not header.get("ok"):
            failure = header.get("failure")
            if failure == "student":
                raise CheckFailed(f"{str(header.get('where', what))[:200]} raised {student_traceback(header)}")
            if failure == "missing":
                raise CheckFailed(str(header.get("message", "not found"))[:500])
            raise RuntimeError(f"worker: {str(header.get('message', header))[:5000]}")  # the grader's own fault
        return header, out
