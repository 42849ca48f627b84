"""Submitted weight files, read on the trusted side, and how close two of them are.

A file is read only with ``torch.load(..., weights_only=True)`` (tensors and plain containers: a malicious
file runs nothing), and only when it is under the grader's limit both on disk and in what its zip archive
declares it unpacks to. Checkpoints and wrapper prefixes are unwrapped as the grader does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.state_dicts import read_state_dict, unpacked_bytes
from ..grading.limits import TRUSTED_WEIGHTS_BYTES
from ..submission import CLUTTER, regular_files
from .thresholds import WEIGHT_MIN_COVERAGE

WEIGHT_SUFFIXES = (".pt", ".pth")
SUBMISSION_BYTES = 512 * 1024 * 1024  # unpacked weight files read of one submission
BATCH_BYTES = 4 * 1024 * 1024 * 1024  # ... of a whole batch: what the comparison holds in memory at most
# (its tensors are kept as float32: a half-precision file is held at twice the size it unpacks to)
COMPARED_SLICE = 1 << 20  # values of two files widened to float64 at a time, to compare them


class Budget:
    """Bytes of weight files still to be read (as their archives declare them unpacked), of ``whose``."""

    def __init__(self, total: int | None = None, whose: str = "the batch"):
        self.total = self.left = BATCH_BYTES if total is None else total
        self.whose = whose

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True

    def refusal(self, relative: Path) -> str:
        """The note for a file left unread."""
        return f"{relative}: not read, past the {_size(self.total)} of weight files read of {self.whose}"


def _size(total: int) -> str:
    return f"{total / 2**30:.3g} GB" if total >= 2**30 else f"{total / 2**20:.3g} MB"


@dataclass(frozen=True)
class WeightFile:
    origin: str  # its path in the submission
    tensors: dict[str, np.ndarray]  # floating-point tensors only (counters such as num_batches_tracked left out)

    @property
    def values(self) -> int:
        return sum(t.size for t in self.tensors.values())

    @property
    def signature(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """The names and shapes of its tensors: the structure of the model."""
        return tuple(sorted((name, t.shape) for name, t in self.tensors.items()))

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Its tensors' shapes without their names: the architecture, however the layers are named."""
        return tuple(sorted(t.shape for t in self.tensors.values()))


def read_weight_file(path: Path, origin: str) -> tuple[WeightFile | None, str | None]:
    """The file's floating-point tensors, or a note saying why it was not read."""
    import torch

    state, why = read_state_dict(path, TRUSTED_WEIGHTS_BYTES)
    if state is None:
        return None, f"{origin}: {why}"
    tensors = {name: t.detach().to(torch.float32).numpy() for name, t in state.items()
               if t.is_floating_point() and t.numel() and t.layout == torch.strided}
    return (WeightFile(origin, tensors), None) if tensors else (None, f"{origin}: holds no floating-point tensors")


def weight_files(folder: Path, batch: Budget | None = None,
                 submission_bytes: int | None = None) -> tuple[list[WeightFile], list[str]]:
    """Every readable weight file under ``folder``, and notes on those that were not read: over the grader's
    limit, or past the submission's budget of bytes read (``submission_bytes``, default ``SUBMISSION_BYTES``) or
    the batch's (``batch``)."""
    found, notes = [], []
    own = Budget(SUBMISSION_BYTES if submission_bytes is None else submission_bytes, "one submission")
    for path in regular_files(folder):
        relative = path.relative_to(folder)
        if path.suffix.lower() in WEIGHT_SUFFIXES and not CLUTTER & set(relative.parts):
            size = unpacked_bytes(path)
            if (spent := _over_budget(size, own, batch)) is not None:
                notes.append(spent.refusal(relative))
                continue
            weights, note = read_weight_file(path, str(relative))
            found.extend([weights] if weights else [])
            notes.extend([note] if note else [])
    return found, notes


def _over_budget(size: int, *budgets: Budget | None) -> Budget | None:
    """The first budget that cannot take ``size`` bytes (those before it have taken them), or None."""
    if size > TRUSTED_WEIGHTS_BYTES:
        return None  # not read whatever the budgets: read_weight_file says so
    return next((budget for budget in budgets if budget is not None and not budget.take(size)), None)


@dataclass(frozen=True)
class WeightMatch:
    cosine: float
    values: int  # compared: those of the tensors both files have, with the same name and shape


def compare_weights(first: WeightFile, second: WeightFile) -> WeightMatch | None:
    """The cosine of the flattened tensors the two files share, or None when those are too few to say."""
    shared = sorted(name for name, t in first.tensors.items()
                    if name in second.tensors and second.tensors[name].shape == t.shape)
    values = sum(first.tensors[name].size for name in shared)
    if not shared or values < WEIGHT_MIN_COVERAGE * max(first.values, second.values):
        return None
    dot, first_squares, second_squares = _products(first, second, shared)
    norms = math.sqrt(first_squares) * math.sqrt(second_squares)
    if norms == 0 or not math.isfinite(norms):
        return None
    return WeightMatch(dot / norms, values)


def _products(first: WeightFile, second: WeightFile, names: list[str]) -> tuple[float, float, float]:
    """a.b, a.a and b.b of the named tensors flattened end to end, summed in float64 a slice at a time: the
    comparison holds no copy of the files (a 256 MB file is not widened to 512 MB, twice)."""
    dot = first_squares = second_squares = 0.0
    for name in names:
        a, b = first.tensors[name].ravel(), second.tensors[name].ravel()
        for start in range(0, a.size, COMPARED_SLICE):
            x = a[start : start + COMPARED_SLICE].astype(np.float64)
            y = b[start : start + COMPARED_SLICE].astype(np.float64)
            dot, first_squares, second_squares = dot + x @ y, first_squares + x @ x, second_squares + y @ y
    return float(dot), float(first_squares), float(second_squares)
