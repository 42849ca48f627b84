"""The trusted side's handle on a worker process: start it, ask it things with a time limit, stop it.

Every call has a limit counted in work: the CPU time of the worker and all it
starts (``process_usage``), ``seconds`` times the worker's threads. A
wall-clock ceiling several times larger stays as a safety net against code
that sleeps or blocks. A call that reaches the ceiling within its CPU limit
was either starved (its threads waited on the run queue: the machine was too
busy (``MachineBusy``, never the student's fault) or
waiting for nothing (sleeping, blocked: the student's). A worker that does not
answer in time is killed with its whole process group; one that dies is
described by its exit code or signal. Either way the caller gets a
``WorkerFailure`` and the next call starts a fresh worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import autograder

from ..common import protocol
from ..common.process_usage import TreeClock
from ..common.settings import WorkerSettings  # noqa: F401 - the host side names it from here too
from .warm import ForkedProcess

START_SECONDS = 120
CEILING_FACTOR = 5  # the wall-clock safety net: this many times a call's limit in seconds, plus CEILING_EXTRA
CEILING_EXTRA = 60
POLL_SECONDS = 0.25  # how often a waiting call reads the worker's CPU time
STARVED = 0.5  # a call whose threads waited on the run queue this share of its time was starved
OUTPUT_KEEP = 64 * 1024  # bytes of the student's stdout/stderr kept (the tail)


class WorkerFailure(RuntimeError):
    """The worker did not answer; one subclass per way, as nbclient types a kernel's ways of dying."""

    kind = "failed"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WorkerTimedOut(WorkerFailure):
    """It computed past its limit (CPU time), or past the wall-clock safety net while waiting or sleeping."""

    kind = "timeout"


class MachineBusy(WorkerFailure):
    """It reached the wall-clock safety net with its CPU time within the limit, starved by other work: never the
    student's fault."""

    kind = "busy"


class WorkerCrashed(WorkerFailure):
    """It exited (or was killed by a signal) while a call was running or before it was sent."""

    kind = "crashed"


class WorkerSpokeNonsense(WorkerFailure):
    """Its reply broke the protocol."""

    kind = "protocol"


FAILURES = {cls.kind: cls for cls in (WorkerTimedOut, MachineBusy, WorkerCrashed, WorkerSpokeNonsense)}


@dataclass(frozen=True)
class CallLimit:
    """A call's limit: ``seconds`` of work at the worker's share (``threads`` cores), counted as CPU time, with
    the wall clock only as a safety net (``ceiling``)."""

    seconds: float
    threads: int = 1

    @property
    def cpu(self) -> float:
        return self.seconds * max(1, self.threads)

    @property
    def ceiling(self) -> float:
        """Several times the limit, and never before one thread could have spent all the CPU time allowed."""
        return max(self.seconds * CEILING_FACTOR, self.cpu) + CEILING_EXTRA

    def exceeded(self, used, elapsed: float) -> tuple[str, str] | None:
        """``(kind, why)`` when a call that has run ``elapsed`` seconds, using ``used`` (a ``process_usage.Usage``,
        None where it cannot be read), must be stopped: "timeout" (the student's: too much computing, or waiting
        for nothing) or "busy" (the machine's: it was starved of the CPU); None while it may go on."""
        if used is None:  # no /proc: the wall clock is all there is
            if elapsed > self.seconds:
                return "timeout", f"did not finish within {self.seconds:.0f} s; the grader stopped it"
            return None
        if used.cpu > self.cpu:
            return "timeout", (f"did not finish within its limit of {self.seconds:.0f} s of computing "
                               f"({self.cpu:.0f} s of CPU time); the grader stopped it")
        if elapsed <= self.ceiling:
            return None
        if used.waited >= STARVED * elapsed:  # ready to run, not running: starved by the rest of the machine
            return "busy", (f"was stopped by the grader's safety net after {elapsed:.0f} s, {used.waited:.0f} s of "
                            f"them waiting for the CPU: it computed {used.cpu:.0f} s of its {self.cpu:.0f} s; the "
                            "machine was too busy")
        if used.cpu < 0.5 * elapsed:
            return "timeout", (f"did not finish within {self.ceiling:.0f} s, and it was waiting (sleeping or blocked) "
                               f"rather than computing ({used.cpu:.0f} s of CPU time); the grader stopped it")
        return "timeout", (f"did not finish within {self.ceiling:.0f} s ({used.cpu:.0f} s of computing); the grader "
                           "stopped it")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit(returncode: int | None) -> str:
    """In words. A sandbox (bubblewrap) reports a child killed by signal N as exit status 128 + N."""
    if returncode is None:
        return "the worker stopped answering"
    if returncode < 0:
        return f"the worker was killed by {_signal_name(-returncode)}"
    if 128 < returncode < 128 + 65:
        return f"the worker was killed by {_signal_name(returncode - 128)} (exit status {returncode})"
    return f"the worker exited with code {returncode}"


@dataclass
class OutputTail:
    """The last bytes a process wrote, and how many it wrote in all."""

    keep: int = OUTPUT_KEEP
    total: int = 0
    chunks: deque = field(default_factory=deque)
    size: int = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self.chunks.append(data)
        self.size += len(data)
        while self.size - len(self.chunks[0]) >= self.keep:
            self.size -= len(self.chunks.popleft())

    def text(self) -> str:
        return b"".join(self.chunks)[-self.keep:].decode("utf-8", "replace")


def _drain(fd: int, tail: OutputTail) -> None:
    try:
        while chunk := os.read(fd, 65536):
            tail.add(chunk)
    except OSError:
        pass
    finally:
        os.close(fd)


class Worker:
    """One worker process for one submission's scratch folder."""

    def __init__(self, scratch: Path, settings: WorkerSettings, launcher=None, warm=None):
        from .sandbox import Launcher, Limits, UidClaim

        self.scratch = scratch
        self.settings = settings
        readable = [Path(settings.torchvision_root)] if settings.torchvision_root else []
        # a uid of its own, held while it lives (no other worker, of any grader here, shares its keyrings)
        own_uid = launcher is None and os.geteuid() == 0
        self.uid_claim = UidClaim(Limits.uid - settings.slot) if own_uid else None
        uid = self.uid_claim.uid if self.uid_claim else Limits.uid - settings.slot
        limits = Limits(uid=uid, cpus=settings.cpus)
        self.launcher = launcher or Launcher(limits=limits, device=settings.device, readable=readable)
        self.process = None  # a subprocess.Popen, or a worker forked from a warm template (warm.ForkedProcess)
        self.template = warm.for_worker(settings, self.launcher, self._environment()) if warm else None
        self.output = OutputTail()
        self.starts = 0
        self.used_cpu = 0.0  # CPU seconds of its calls (every start included)
        self._request_fd = self._reply_fd = None

    # ------------------------------------------------------------ lifecycle

    def _environment(self) -> dict[str, str]:
        """Written from scratch: nothing of the grader's environment (tokens, paths) leaks in."""
        package_root = str(Path(autograder.__file__).resolve().parent.parent)
        passed = {k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH") if k in os.environ}
        if self.settings.gpu is not None:  # code that says cuda:0 (or just cuda) runs on this slot's GPU
            visible = passed.get("CUDA_VISIBLE_DEVICES", "").split(",") if passed.get("CUDA_VISIBLE_DEVICES") else []
            passed["CUDA_VISIBLE_DEVICES"] = visible[self.settings.gpu] if visible else str(self.settings.gpu)
        return {
            **passed,
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.scratch),
            "LANG": "C.UTF-8",
            "USER": "student",  # getpass.getuser() answers without a passwd entry for the worker's uid
            "PYTHONPATH": package_root,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "MPLBACKEND": "Agg",
            "KERAS_BACKEND": "torch",  # Keras 3 student code runs on PyTorch; there is no TensorFlow
            "OMP_NUM_THREADS": str(self.settings.threads),
            "MKL_NUM_THREADS": str(self.settings.threads),
            "OPENBLAS_NUM_THREADS": str(self.settings.threads),
            "CUBLAS_WORKSPACE_CONFIG": ":4096:8",  # deterministic cuBLAS
            # More workers than cores: waiting OpenMP threads sleep rather than spin against the others
            # (otherwise spinning is much faster: 0.6 s against 0.9 s for 100 steps of a small CAE, 2 threads).
            **({"OMP_WAIT_POLICY": "PASSIVE"} if self.settings.passive_wait else {}),
            "AUTOGRADER_WORKER_SETTINGS": self.settings.with_changes(self.launcher.worker_settings()).to_json(),
        }

    def start(self) -> None:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        command = [sys.executable, "-s", "-P", "-m", "autograder.worker", str(request_read), str(reply_write)]
        env = self._environment()
        try:
            self.process = None
            if self.template is not None:
                self.process = self.template.spawn(self.scratch, env, (request_read, reply_write, output_write))
            if self.process is None:
                self.process = self.launcher.popen(
                    command, cwd=self.scratch, env=env, pass_fds=(request_read, reply_write),
                    stdout=output_write, stderr=output_write,
                )  # fmt: skip
        finally:
            for fd in (request_read, reply_write, output_write):
                os.close(fd)
        self._request_fd, self._reply_fd = request_write, reply_read
        self.output = OutputTail()
        threading.Thread(target=_drain, args=(output_read, self.output), daemon=True).start()
        self.starts += 1
        self._receive("starting the worker", START_SECONDS)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is None:
            return
        if isinstance(self.process, ForkedProcess):
            self.template.clean()
        else:
            self.launcher.kill(self.process)
        for fd in (self._request_fd, self._reply_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._request_fd = self._reply_fd = None

    def close(self) -> None:
        """End the worker once its submission is graded. Killed, not asked to exit: nothing it would do on the way
        out is needed, and its interpreter's finalisation (torch, a notebook's kernel shut down) kept each grading
        waiting about 0.9 s (measured with cProfile on a cold grading of cpsc663-ex2's answer key)."""
        self.kill()
        self.process = None
        if self.uid_claim is not None:
            self.uid_claim.release()

    # ------------------------------------------------------------ calls

    def _root_pid(self) -> int | None:
        """The host pid at the top of the worker's process tree: its sandbox, or its template's."""
        if isinstance(self.process, ForkedProcess):
            template = getattr(self.template, "process", None)
            return getattr(template, "pid", None)
        return getattr(self.process, "pid", None)

    def _await_reply(self, what: str, limit: CallLimit) -> None:
        """Wait until the reply starts, counting the worker's CPU time against ``limit``; WorkerFailure when the
        limit or the wall-clock ceiling is reached first."""
        import select

        clock, started = TreeClock(self._root_pid()), time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            if select.select([self._reply_fd], [], [], POLL_SECONDS)[0]:
                used = clock.since()
                self.used_cpu += used.cpu if used else elapsed
                return
            elapsed, used = time.monotonic() - started, clock.since()
            stop = limit.exceeded(used, elapsed)
            if stop is not None:
                self.used_cpu += used.cpu if used else 0.0
                self.kill()
                kind, why = stop
                raise FAILURES[kind](f"{what} {why}")

    def _receive(self, what: str, timeout: float | CallLimit) -> tuple[dict, dict[str, np.ndarray]]:
        limit = timeout if isinstance(timeout, CallLimit) else CallLimit(timeout, self.settings.threads)
        try:
            self._await_reply(what, limit)
            header, arrays = protocol.read_message(self._reply_fd, limit.ceiling)
            return protocol.bounded(header), arrays
        except protocol.ChannelTimeout:
            self.kill()
            message = f"{what} did not finish within {limit.ceiling:.0f} s; the grader stopped it"
            raise WorkerTimedOut(message) from None
        except protocol.ChannelClosed:
            returncode = self._wait_for_exit()
            self.kill()
            raise WorkerCrashed(f"{describe_exit(returncode)} while {what}") from None
        except protocol.ProtocolError as error:
            self.kill()
            raise WorkerSpokeNonsense(f"the worker sent a malformed reply while {what} ({error})") from None

    def _wait_for_exit(self) -> int | None:
        try:
            return self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def call(self, op: str, what: str, timeout: float, arrays=None, **fields) -> tuple[dict, dict[str, np.ndarray]]:
        """Send one request and wait for its reply; ``what`` names it in messages ("running Net.forward").
        ``timeout``: seconds of work at the worker's share, counted in CPU time (``CallLimit``)."""
        if not self.alive:
            self.start()
        try:
            protocol.write_message(self._request_fd, {"op": op, **fields}, arrays)
        except (BrokenPipeError, OSError):
            returncode = self._wait_for_exit()
            self.kill()
            raise WorkerCrashed(f"{describe_exit(returncode)} before {what}") from None
        return self._receive(what, CallLimit(max(1.0, timeout), self.settings.threads))
