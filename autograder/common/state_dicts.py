"""The state_dict inside a loaded weight file, as students save them.

The handout asks for ``torch.save(model.state_dict(), path)``; two other habits are common
and carry the same weights, so they are accepted with a note:

* a training checkpoint, ``{"epoch": ..., "model_state_dict": sd, "optimizer_state_dict": ...}``
  (the PyTorch tutorial's layout), or ``{"state_dict": sd}``;
* keys prefixed by a wrapper, ``module.`` (``nn.DataParallel``) or ``_orig_mod.`` (``torch.compile``).

Pure functions over what ``torch.load(..., weights_only=True)`` returned: used by the worker, which
loads the file into the student's class, and by the trusted side, which reads the same file to
cross-check what the worker reports (``read_state_dict``: only within a size bound).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

CHECKPOINT_KEYS = ("model_state_dict", "state_dict", "model_state", "model", "net", "weights")
WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def _is_tensor_dict(value, tensor_type) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        isinstance(k, str) and isinstance(v, tensor_type) for k, v in value.items())


def unwrap_state_dict(loaded, tensor_type) -> tuple[dict | None, str | None]:
    """``(state_dict, note)``: the tensors to load and, when the file was not a plain state_dict,
    how they were found; ``(None, None)`` when there is no state_dict in it."""
    if _is_tensor_dict(loaded, tensor_type):
        state, note = loaded, None
    elif isinstance(loaded, dict):
        key = next((k for k in CHECKPOINT_KEYS if _is_tensor_dict(loaded.get(k), tensor_type)), None)
        if key is None:
            return None, None
        state, note = loaded[key], f"the file is a checkpoint, and the grader loaded its {key!r} entry"
    else:
        return None, None
    for prefix in WRAPPER_PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
            stripped = f"its keys carry the prefix {prefix!r} of a wrapper, which the grader removed"
            note = f"{note}; {stripped}" if note else stripped
    return state, note


def unpacked_bytes(path: Path) -> int:
    """What a zip archive declares it unpacks to (its size on disk for any other file)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return path.stat().st_size


def read_state_dict(path: Path, limit: int) -> tuple[dict | None, str | None]:
    """``(state_dict, None)`` of a weight file read on the trusted side, or ``(None, why not)``. Read only when it
    is under ``limit`` bytes on disk and once unpacked (a torch file is a zip archive whose entries may be
    compressed: their declared sizes are checked before anything is read, so 3 MB cannot become 3 GiB), and
    only with ``weights_only=True``, which unpickles tensors and plain containers: a malicious file runs nothing."""
    import torch

    if path.stat().st_size > limit or unpacked_bytes(path) > limit:
        return None, f"not read, over {limit >> 20} MB"
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - an unreadable file is the weight checks' business
        return None, f"not read ({type(error).__name__})"
    state, _ = unwrap_state_dict(loaded, torch.Tensor)
    return (state, None) if state is not None else (None, "holds no state_dict")
