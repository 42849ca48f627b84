"""The trusted side's calls into a submission's worker, within the submission's budget of work.

A call that fails because of the student's code (an exception, a crash, a
timeout, something missing) becomes ``CheckFailed`` with a message naming what
was running; the grader's own faults stay errors. A call the machine was too
busy to let finish (``MachineBusy``) is tried once more, then is
``NotGradable``: never the student's fault. A worker that died is started
again for the next call, a few times at most. The submission's budget counts
the CPU time of its calls; its wall clock is only a safety net.
"""

from __future__ import annotations

import time

from ..host.client import CEILING_FACTOR, MachineBusy, Worker, WorkerFailure, WorkerTimedOut
from . import limits
from .outcomes import CheckFailed, CheckTimedOut, NotGradable, student_traceback

PROFILED_BY_WHAT = ("load_notebook", "train_predict", "call", "import")  # calls profiled one by one
START_OUTPUT = 4000  # characters of a worker's output kept for the staff when it could not start
announce = None  # set by a command grading one submission: called with what each long call starts doing


class WorkerLink:
    def __init__(self, worker: Worker, ready=(), on_time=None, call_seconds: float = limits.TIMEOUT_CALL,
                 submission_seconds: float = limits.SUBMISSION_SECONDS):
        self.worker = worker
        self.call_seconds, self.submission_seconds = call_seconds, submission_seconds
        self.started = time.monotonic()
        self._ready = list(ready)  # futures the worker's first request must wait for (the data it reads)
        self._on_time = on_time or (lambda stage, started: None)
        self.cpu_seconds = 0.0  # the worker's CPU time over this submission's calls, every start included
        self.busy: list[str] = []  # calls the machine was too busy to let finish, for the staff
        self.failed_starts: list[str] = []  # workers that died before any student code ran, with their output
        self.profile: dict[str, dict] = {}  # what each kind of call cost: wall and worker CPU seconds

    def _profiled(self, label: str, wall: float, cpu: float) -> None:
        entry = self.profile.setdefault(label, {"wall": 0.0, "worker_cpu": 0.0, "count": 0})
        entry["wall"] += wall
        entry["worker_cpu"] += cpu
        entry["count"] += 1

    def budget_left(self) -> float:
        """Seconds of work left to the submission (its calls' CPU time, per thread of the worker)."""
        threads = max(1, self.worker.settings.threads)
        left = self.submission_seconds - self.cpu_seconds / threads
        if left <= 0:
            raise CheckFailed(f"not run: this submission used up its grading time ({self.submission_seconds / 60:g} "
                              "minutes of computing for all its checks)")
        ceiling = max(self.submission_seconds * CEILING_FACTOR, self.submission_seconds * threads)
        if time.monotonic() - self.started > ceiling:
            raise NotGradable(f"not graded: the machine was too busy to grade this submission within "
                              f"{ceiling / 60:g} minutes")
        return left

    @property
    def starts(self) -> int:
        return self.worker.starts

    def _ensure_started(self) -> None:
        if self.worker.alive:
            return
        if self.worker.starts - len(self.busy) >= limits.MAX_WORKER_STARTS:  # restarts after a busy call: not hers
            raise CheckFailed(f"not run: the student's code ended its worker {self.worker.starts} times, "
                              "so the grader stopped starting new ones for this submission")
        started = time.monotonic()
        try:
            self.worker.start()
        except WorkerFailure as failure:
            if isinstance(failure, MachineBusy):
                self.busy.append(failure.message)
                raise NotGradable(f"not graded: starting the worker: {failure.message}") from None
            # a worker starts (imports the grader's code and torch) before it runs any of the student's: a start
            # that fails is the grader's environment (a path the sandbox lacks, a broken install), never the work
            output = self.worker.output.text()[-START_OUTPUT:].strip() or "(it printed nothing)"
            self.failed_starts.append(f"the worker died before running any of the submission's code: "
                                      f"{failure.message}; its output:\n{output}")
            raise NotGradable("not graded: the grader's worker could not start here (not a fault in your work); "
                              "the staff have the details") from None
        finally:
            self._on_time("start", started)
            self._profiled("worker start (sandbox, imports)", time.monotonic() - started, 0.0)

    def call(self, op: str, what: str, timeout: float | None = None, arrays=None, **fields):
        """A worker call whose failures (timeout, crash) become a CheckFailed naming what was running; one the
        machine was too busy for is tried again once, then is NotGradable."""
        for attempt in (1, 2):
            model = fields.get("model")
            default = model.get("limit") if isinstance(model, dict) and model.get("limit") else self.call_seconds
            timeout = min(timeout or default, self.budget_left())
            self._ensure_started()
            if self._ready:
                waited = time.monotonic()
                while self._ready:
                    self._ready.pop().result()
                self._profiled("waiting for the data to load", time.monotonic() - waited, 0.0)
            before, started = self.worker.used_cpu, time.monotonic()
            label = f"{op}: {what}" if op in PROFILED_BY_WHAT else op
            if announce is not None and op in PROFILED_BY_WHAT and attempt == 1:
                announce(what)
            try:
                header, out = self.worker.call(op, what, timeout, arrays=arrays, **fields)
                self.cpu_seconds += self.worker.used_cpu - before
                self._profiled(label, time.monotonic() - started, self.worker.used_cpu - before)
                break
            except WorkerFailure as failure:
                self.cpu_seconds += max(0.0, self.worker.used_cpu - before)
                self._profiled(label, time.monotonic() - started, max(0.0, self.worker.used_cpu - before))
                if isinstance(failure, WorkerTimedOut):
                    raise CheckTimedOut(failure.message) from None
                if not isinstance(failure, MachineBusy):
                    raise CheckFailed(failure.message) from None
                self.busy.append(failure.message)
                if attempt == 2:
                    raise NotGradable(f"not graded: {failure.message} (tried twice); the staff will grade it "
                                      "again") from None
        if not header.get("ok"):
            failure = header.get("failure")
            if failure == "student":
                raise CheckFailed(f"{str(header.get('where', what))[:200]} raised {student_traceback(header)}")
            if failure == "missing":
                raise CheckFailed(str(header.get("message", "not found"))[:500])
            raise RuntimeError(f"worker: {str(header.get('message', header))[:5000]}")  # the grader's own fault
        return header, out
