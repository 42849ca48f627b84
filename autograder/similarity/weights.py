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

from ..grading.limits import TRUSTED_WEIGHTS_BYTES
from ..state_dicts import read_state_dict, unpacked_bytes
from ..submission import CLUTTER, regular_files
from .thresholds import WEIGHT_MIN_COVERAGE

WEIGHT_SUFFIXES = (".pt", ".pth")
SUBMISSION_BYTES = 512 * 1024 * 1024  # unpacked weight files read of one submission
BATCH_BYTES = 4 * 1024 * 1024 * 1024  # ... of a whole batch: what the comparison holds in memory at most


class Budget:
    """Bytes of weight files still to be read (as their archives declare them unpacked)."""

    def __init__(self, total: int = BATCH_BYTES):
        self.left = total

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


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


def weight_files(folder: Path, batch: Budget | None = None) -> tuple[list[WeightFile], list[str]]:
    """Every readable weight file under ``folder``, and notes on those that were not read: over the grader's
    limit, or past the submission's budget of bytes read (``SUBMISSION_BYTES``) or the batch's (``batch``)."""
    found, notes = [], []
    own = Budget(SUBMISSION_BYTES)
    for path in regular_files(folder):
        relative = path.relative_to(folder)
        if path.suffix.lower() in WEIGHT_SUFFIXES and not CLUTTER & set(relative.parts):
            size = unpacked_bytes(path)
            if size <= TRUSTED_WEIGHTS_BYTES and not own.take(size):
                notes.append(f"{relative}: not read, past the {SUBMISSION_BYTES >> 20} MB of weight files read of "
                             "one submission")
                continue
            if size <= TRUSTED_WEIGHTS_BYTES and batch is not None and not batch.take(size):
                notes.append(f"{relative}: not read, past the {BATCH_BYTES >> 30} GB of weight files read of the "
                             "batch")
                continue
            weights, note = read_weight_file(path, str(relative))
            found.extend([weights] if weights else [])
            notes.extend([note] if note else [])
    return found, notes


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
    a = np.concatenate([first.tensors[name].ravel() for name in shared]).astype(np.float64)
    b = np.concatenate([second.tensors[name].ravel() for name in shared]).astype(np.float64)
    norms = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    if norms == 0 or not math.isfinite(norms):
        return None
    return WeightMatch(float(a @ b) / norms, values)
