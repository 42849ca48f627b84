"""Importing a student's file inside the worker, defensively.

* Training at import is cut off: a global optimizer-step hook counts the steps
  taken while a file is being imported and stops the import after
  the training cap's budget of them (``training_cap.py``).
* A file that runs too long at import, forks, calls ``sys.exit``, or raises,
  is stopped too. In every case the module keeps what it defined before that
  point, and the outcome says what happened and on which line of the student's
  file.
* ``torchvision.datasets.MNIST/FashionMNIST(root, download=True)`` read the
  grader's prepared local copy, whatever root the student wrote.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import signal
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from . import training_cap

MAX_SOURCE_BYTES = 5 * 1024 * 1024  # a larger .py file is not source a student wrote
IMPORT_SECONDS = 60  # soft limit, in seconds of computing; the trusted side has its own hard limit
THREADS = 1  # the worker's threads: its CPU time may run this much faster than the clock


def IMPORT_CEILING() -> float:  # noqa: N802 - read like the constants it is derived from
    """The wall-clock safety net of an import: several times its limit in computing, and never before one thread
    could have spent all the CPU time allowed."""
    return max(IMPORT_SECONDS * 5, IMPORT_SECONDS * THREADS) + 60


class StopImport(BaseException):  # noqa: N818 - control flow, not an error of the student's
    """Raised into the student's code to end an import; a BaseException so `except Exception` can't swallow it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def student_frames(tb, root: Path, keep: int = 10) -> list[dict]:
    """The traceback entries that lie in the student's files, as plain data (the outermost and innermost
    ``keep`` of them)."""
    frames = []
    for frame in traceback.extract_tb(tb, limit=200):  # the outermost frames: the student's own lines
        path = Path(frame.filename)
        if path.is_absolute() and path.is_relative_to(root):
            frames.append({"file": str(path.relative_to(root)), "line": frame.lineno, "function": frame.name,
                           "code": (frame.line or "").strip()[:200]})
    return frames if len(frames) <= 2 * keep else frames[:keep] + frames[-keep:]


def describe_exception(error: BaseException, root: Path) -> dict:
    return {"type": type(error).__name__, "message": str(error)[:2000],
            "frames": student_frames(error.__traceback__, root)}


@dataclass
class ImportOutcome:
    module: types.ModuleType | None
    ok: bool = True
    stopped: dict | None = None  # {"reason", "detail", "frames"} when the import was cut short
    error: dict | None = None  # the student's exception, when the file raised
    names: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"complete": self.ok, "stopped": self.stopped, "error": self.error, "names": self.names}


class _ImportGuard:
    """Counts optimizer steps and arms a timer while a student's file is being imported."""

    def __init__(self):
        self.active = False
        self.stopping = False
        self.alarm_fired = False
        training_cap.install(memoise=False)
        os.register_at_fork(after_in_child=self._on_fork_in_child)

    def _no_fork(self):
        raise StopImport("fork", "the file starts a process (os.fork) when imported; the grader stopped it")

    def _on_fork_in_child(self):
        """A process the student's file forks while being imported ends at once: a fork bomb at import
        becomes a loop, which the import time limit stops, instead of a machine full of processes."""
        if self.active:
            os._exit(0)

    @staticmethod
    def _past_budget(budget: int):
        raise StopImport("training", f"the file trains when imported; the grader stopped it after {budget} "
                                     "optimizer steps")

    def _on_alarm(self, signum, frame):
        # Once only, and never during clean-up: CPython has been seen to call the handler again for one
        # alarm when the first call raised out of deep recursion.
        if not self.active or self.stopping or self.alarm_fired:
            return
        self.alarm_fired = True
        if signum == signal.SIGPROF:
            raise StopImport("timeout", f"the file was still running after {IMPORT_SECONDS:.0f} s of computing "
                                        f"({IMPORT_SECONDS * THREADS:.0f} s of CPU time) while importing; the grader "
                                        "stopped it")
        raise StopImport("timeout", f"the file was still importing after {IMPORT_CEILING():.0f} s, waiting (sleeping "
                                    "or blocked) rather than computing; the grader stopped it")

    def run(self, module: types.ModuleType, spec) -> None:
        self.active, self.stopping, self.alarm_fired = True, False, False
        training_cap.arm(None, throttle=False, on_past_budget=self._past_budget)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children started while importing are reaped at once
        self.fork, os.fork = os.fork, self._no_fork
        previous = signal.signal(signal.SIGALRM, self._on_alarm), signal.signal(signal.SIGPROF, self._on_alarm)
        signal.setitimer(signal.ITIMER_PROF, IMPORT_SECONDS * THREADS)  # CPU time: the work done
        signal.setitimer(signal.ITIMER_REAL, IMPORT_CEILING())  # the wall clock: a safety net against sleeping
        try:
            spec.loader.exec_module(module)
        except BaseException:
            self.stop(previous)
            raise
        self.stop(previous)

    def stop(self, handlers=(signal.SIG_DFL, signal.SIG_DFL)) -> None:
        """Disarm the timers and the step count; called on every way out of ``run``, and again by the caller."""
        self.stopping = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, handlers[0])
        signal.signal(signal.SIGPROF, handlers[1])
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.fork = getattr(self, "fork", os.fork)
        training_cap.disarm()
        self.active = False


_guard: _ImportGuard | None = None


def import_student_file(path: Path, root: Path) -> ImportOutcome:
    """Import ``path`` as a module named after the file; never raises for the student's faults."""
    global _guard
    if path.stat().st_size > MAX_SOURCE_BYTES:
        return ImportOutcome(None, ok=False, error={
            "type": "FileTooLarge", "frames": [],
            "message": f"{path.name} is {path.stat().st_size >> 20} MB; a source file over "
                       f"{MAX_SOURCE_BYTES >> 20} MB is not imported",
        })  # fmt: skip
    if _guard is None:
        _guard = _ImportGuard()
    name = path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so that other student files can `from models import Net`
    saved_argv = sys.argv
    sys.argv = [str(path)]
    outcome = ImportOutcome(module)
    try:
        _guard.run(module, spec)
    except StopImport as stop:
        outcome.stopped = {"reason": stop.reason, "detail": stop.detail,
                           "frames": student_frames(stop.__traceback__, root)}
    except SystemExit as exit_:
        outcome.stopped = {"reason": "exit", "detail": f"the file called sys.exit({exit_.code!r}) when imported",
                           "frames": student_frames(exit_.__traceback__, root)}
    except SyntaxError as error:
        outcome.ok, outcome.module = False, None
        outcome.error = {"type": "SyntaxError", "message": f"{error.msg} (line {error.lineno})",
                         "frames": [{"file": path.name, "line": error.lineno, "function": "<module>",
                                     "code": (error.text or "").strip()}]}
    except BaseException as error:  # the student's code raised: keep what it defined
        outcome.ok = False
        outcome.error = describe_exception(error, root)
    finally:
        _guard.stop()
        sys.argv = saved_argv
    if outcome.module is None:
        sys.modules.pop(name, None)
    else:
        outcome.names = sorted(k for k in vars(outcome.module) if not k.startswith("__"))
    return outcome


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``patch(module)`` right after the module ``name`` is first imported, and costs nothing before."""

    def __init__(self, name: str, patch):
        self.name, self.patch = name, patch

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        execute, patch = spec.loader.exec_module, self.patch

        def exec_module(module):
            execute(module)
            patch(module)

        spec.loader.exec_module = exec_module
        return spec


def after_import(name: str, patch) -> None:
    """``patch(module)`` once the module ``name`` is imported: now, if it already is (a worker forked from a warm
    template that imported it), else right after its first import."""
    if name in sys.modules:
        patch(sys.modules[name])
    else:
        sys.meta_path.insert(0, _AfterImport(name, patch))


def replace_function(module: types.ModuleType, name: str, replacement) -> None:
    """Set ``module.name`` to ``replacement``, and rebind the modules already imported that re-export the original
    (``keras.datasets.mnist`` holds ``keras.src.datasets.mnist.load_data``): a module imported later takes the
    replacement itself, but in a worker forked from a warm template they may all be imported already."""
    original = vars(module).get(name)
    for other in list(sys.modules.values()):
        if original is not None and getattr(other, "__dict__", {}).get(name) is original:
            setattr(other, name, replacement)
    setattr(module, name, replacement)


def redirect_torchvision_datasets(prepared_root: str | None) -> None:
    """Make MNIST and its subclasses (FashionMNIST, ...) read ``prepared_root`` and never download.

    The patch is applied when the student's code first imports torchvision's datasets (importing
    them up front would cost every worker two seconds)."""

    def patch(mnist_module):
        original = mnist_module.MNIST.__init__

        def __init__(self, root=None, *args, **kwargs):
            if prepared_root is None:
                raise RuntimeError(f"the grader has no local copy of {type(self).__name__}")
            note_stand_in(Path(prepared_root) / type(self).__name__)
            if len(args) >= 4:  # (train, transform, target_transform, download, ...)
                args = (*args[:3], False, *args[4:])
            else:
                kwargs["download"] = False
            original(self, prepared_root, *args, **kwargs)

        mnist_module.MNIST.__init__ = __init__

    after_import("torchvision.datasets.mnist", patch)


STAND_INS: list[str] = []  # what student code read in place of a data set this machine does not have


def note_stand_in(folder: Path) -> None:
    marker = folder / "STAND-IN.txt"
    if marker.is_file():
        text = marker.read_text().strip()[:300]
        if text not in STAND_INS:
            STAND_INS.append(text)


def redirect_keras_datasets(prepared_root: str | None) -> None:
    """Make Keras 3's ``mnist.load_data()`` and ``fashion_mnist.load_data()`` read the prepared local copy."""

    def loader(folder: str):
        def load_data(path=None):
            from ..common.idx import read_idx

            raw = Path(prepared_root or "/nonexistent") / folder / "raw"
            if not (raw / "train-images-idx3-ubyte").is_file():
                raise RuntimeError(f"the grader has no local copy of {folder}")
            note_stand_in(raw.parent)
            return tuple(
                (read_idx(raw / f"{split}-images-idx3-ubyte"), read_idx(raw / f"{split}-labels-idx1-ubyte"))
                for split in ("train", "t10k")
            )

        return load_data

    for module, folder in (("keras.src.datasets.mnist", "MNIST"), ("keras.src.datasets.fashion_mnist", "FashionMNIST")):
        after_import(module, lambda m, _f=folder: replace_function(m, "load_data", loader(_f)))
