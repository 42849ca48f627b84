"""The state_dict inside a loaded weight file, as students save them.

The handout asks for ``torch.save(model.state_dict(), path)``; two other habits are common
and carry the same weights, so they are accepted with a note:

* a training checkpoint, ``{"epoch": ..., "model_state_dict": sd, "optimizer_state_dict": ...}``
  (the PyTorch tutorial's layout), or ``{"state_dict": sd}``;
* keys prefixed by a wrapper, ``module.`` (``nn.DataParallel``) or ``_orig_mod.`` (``torch.compile``).

Pure functions over what ``torch.load(..., weights_only=True)`` returned: used by the worker, which
loads the file into the student's class, and by the trusted side, which reads the same file to
cross-check what the worker reports.
"""

from __future__ import annotations

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
