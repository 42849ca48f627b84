"""Importing a student's file inside the worker, defensively.

* Training at import is cut off: a global optimizer-step hook counts the steps
  taken while a file is being imported and stops the import after
  ``STEP_BUDGET`` of them.
* A file that runs too long at import, calls ``sys.exit``, or raises, is
  stopped too. In every case the module keeps what it defined before that
  point, and the outcome says what happened and on which line of the student's
  file.
* ``torchvision.datasets.MNIST/FashionMNIST(root, download=True)`` read the
  grader's prepared local copy, whatever root the student wrote.
"""

from __future__ import annotations

import importlib.util
import signal
import sys
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

STEP_BUDGET = 10  # optimizer steps allowed at import before training is stopped
MAX_SOURCE_BYTES = 5 * 1024 * 1024  # a larger .py file is not source a student wrote
IMPORT_SECONDS = 60  # soft limit; the trusted side has its own hard limit


class StopImport(BaseException):  # noqa: N818 - control flow, not an error of the student's
    """Raised into the student's code to end an import; a BaseException so `except Exception` can't swallow it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def student_frames(tb, root: Path) -> list[dict]:
    """The traceback entries that lie in the student's files, as plain data."""
    frames = []
    for frame in traceback.extract_tb(tb):
        path = Path(frame.filename)
        if path.is_absolute() and path.is_relative_to(root):
            frames.append({"file": str(path.relative_to(root)), "line": frame.lineno, "function": frame.name,
                           "code": (frame.line or "").strip()})
    return frames


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
        self.steps = 0
        import torch.optim.optimizer as optimizer

        optimizer.register_optimizer_step_pre_hook(self._on_step)

    def _on_step(self, *args, **kwargs):
        if not self.active:
            return
        self.steps += 1
        if self.steps > STEP_BUDGET:
            raise StopImport("training", f"the file trains when imported; the grader stopped it after "
                                         f"{STEP_BUDGET} optimizer steps")

    def _on_alarm(self, signum, frame):
        raise StopImport("timeout", f"the file was still running after {IMPORT_SECONDS} s of importing; "
                                    "the grader stopped it")

    def run(self, module: types.ModuleType, spec) -> None:
        self.active, self.steps = True, 0
        previous = signal.signal(signal.SIGALRM, self._on_alarm)
        signal.setitimer(signal.ITIMER_REAL, IMPORT_SECONDS)
        try:
            spec.loader.exec_module(module)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
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
    sys.modules[name] = module  # so that other student files can `from prob5_AE import AE`
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
        sys.argv = saved_argv
    if outcome.module is None:
        sys.modules.pop(name, None)
    else:
        outcome.names = sorted(k for k in vars(outcome.module) if not k.startswith("__"))
    return outcome


def redirect_torchvision_datasets(prepared_root: str | None) -> None:
    """Make MNIST and its subclasses (FashionMNIST, ...) read ``prepared_root`` and never download."""
    try:
        from torchvision import datasets
    except ImportError:
        return
    original = datasets.MNIST.__init__

    def __init__(self, root=None, *args, **kwargs):
        if prepared_root is None:
            raise RuntimeError(f"the grader has no local copy of {type(self).__name__}")
        if len(args) >= 4:  # (train, transform, target_transform, download, ...)
            args = (*args[:3], False, *args[4:])
        else:
            kwargs["download"] = False
        original(self, prepared_root, *args, **kwargs)

    datasets.MNIST.__init__ = __init__
