"""Student values as plain data: what kind of thing a name holds, and a bounded plain copy of a result.

Everything here runs in the worker and returns builtins and small numpy arrays
only, so that it can cross to the trusted side as JSON and raw numbers.
"""

from __future__ import annotations

import math
import types

import numpy as np
import torch

from .keras_support import is_keras_model, is_keras_model_class

MAX_ITEMS = 10_000  # numbers in one plain value
MAX_DEPTH = 6
MAX_TEXT = 200


def kind_of(value) -> str:
    """module-class, keras-model-class, dataset-class, class, module, keras-model, function, other."""
    if isinstance(value, type):
        if is_keras_model_class(value):
            return "keras-model-class"
        if issubclass(value, torch.nn.Module):
            return "module-class"
        if issubclass(value, torch.utils.data.Dataset) or (hasattr(value, "__getitem__") and
                                                           hasattr(value, "__len__")):
            return "dataset-class"
        return "class"
    if is_keras_model(value):
        return "keras-model"
    if isinstance(value, torch.nn.Module):
        return "module"
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return "function"
    return "other"


def plain_numbers(value, depth=0):
    """A numeric answer as nested lists of floats; None if it is not numeric."""
    if depth > 4:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or value.size > MAX_ITEMS:
            return None
        return value.astype(float).tolist()
    if isinstance(value, (bool, int, float, np.number)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (list, tuple)) and len(value) <= MAX_ITEMS:
        items = [plain_numbers(v, depth + 1) for v in value]
        return None if any(i is None for i in items) else items
    return None


def describe_value(value, depth: int = 0, budget: list | None = None):
    """A returned value as plain data: numbers, arrays (as lists with their dtype and shape), strings
    (cut), lists, dicts with string keys, a Keras ``History`` as its ``history`` dict; anything else by its
    type name. Bounded in depth and in the numbers it holds."""
    budget = budget if budget is not None else [MAX_ITEMS]
    if depth > MAX_DEPTH or budget[0] <= 0:
        return {"type": type(value).__name__, "cut": True}
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float, np.number)):
        number = float(value) if not isinstance(value, (int, np.integer)) else int(value)
        return number if not isinstance(number, float) or math.isfinite(number) else str(number)
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        budget[0] -= value.size
        if value.dtype.kind not in "biuf" or budget[0] < 0:
            return {"type": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape)}
        array = value.astype(float)
        return {"type": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape),
                "values": np.where(np.isfinite(array), array, np.nan).tolist()}
    history = getattr(value, "history", None)
    if type(value).__name__ == "History" and isinstance(history, dict):
        return {"type": "History", "history": describe_value(history, depth + 1, budget)}
    if isinstance(value, dict):
        return {"type": "dict", "items": {str(k)[:MAX_TEXT]: describe_value(v, depth + 1, budget)
                                          for k, v in list(value.items())[:100]}}
    if isinstance(value, (list, tuple)):
        return {"type": type(value).__name__,
                "items": [describe_value(v, depth + 1, budget) for v in list(value)[:MAX_ITEMS]]}
    return {"type": type(value).__name__[:MAX_TEXT]}
