"""Finding and building what a request names, in the worker.

A request names a subject by a plain reference::

    {"source": "models.py" | "hw.ipynb", "name": "Net", "find": "class", "kind": "torch",
     "kwargs": {...}, "args": [...], "cells": [start, end] | None, "match": {...}, "seed": 0,
     "argument_aliases": {"N_bottleneck": ["bottleneck"]}}  (only where the assignment declares them)

``find`` says what the name holds: a class to build, a factory function to call, a
variable holding a model, a Keras model passed to ``fit`` (``match`` picks it by
its Dense widths), or a plain function. In a notebook that binds a name more than
once, ``cells`` picks the binding made in the problem's own cells (for a class or
function, else the last one before them; else the last one). A variable is only
ever taken from the problem's own cells: where they do not bind its name, the
model they trained is taken (the last one that takes ``input_shapes``), and the
reply says which.

A class or factory is called with each declared keyword under the parameter it maps to (``signatures.py``:
the same name up to case and ``_``, a declared alias, or by position), so that ``n_bottleneck=`` where the
handout says ``N_bottleneck=`` builds the model; ``describe`` reports the mapping for the feedback.
"""

from __future__ import annotations

import copy

import torch

from ..common.signatures import Mapping, map_arguments
from . import keras_fit, keras_support
from .arguments import evaluate_arguments


class NotFound(LookupError):
    """The submission does not have what the request names; the message is for the student."""


def binding(history: list[tuple[int | None, object]], cells) -> tuple[object, int | None, int]:
    """The value of a name for a notebook window ``cells = [start, end)``: ``(value, cell, bindings)``."""
    if cells is not None:
        start, end = cells
        inside = [(cell, value) for cell, value in history if cell is not None and start <= cell < end]
        before = [(cell, value) for cell, value in history if cell is not None and cell < start]
        chosen = (inside or before or history)[-1]
    else:
        chosen = history[-1]
    return chosen[1], chosen[0], len(history)


def describe_match(match: dict) -> str:
    """``{"dense_layers": 4, "noisy": True}`` in words."""
    parts = []
    if "widths" in match:
        parts.append(f"Dense widths {list(match['widths'])}")
    if "dense_layers" in match:
        parts.append(f"{match['dense_layers']} Dense layers")
    if match.get("noisy") is True:
        parts.append("inputs that differ from its targets (noisy inputs, clean targets)")
    elif match.get("noisy") is False:
        parts.append("its targets as inputs")
    return " and ".join(parts) or "any architecture"


def lookup(state, ref: dict) -> tuple[object, dict]:
    """The object ``ref`` names and where it was found (cell, how many bindings); NotFound if absent."""
    if ref.get("find") == "fit":
        capture = state.fits(ref["source"])
        records = capture.matching(ref.get("match", {}), ref.get("cells"))
        if not records:
            seen = "; ".join(f"Dense widths {keras_support.dense_widths(r.model)}"
                             f"{', on noisy inputs' if not r.summary.get('same_target', True) else ''}"
                             for r in capture.records[:6]) or "none"
            raise NotFound(f"no model passed to fit has {describe_match(ref.get('match', {}))} (models passed to "
                           f"fit: {seen})")
        record = records[-1] if ref.get("cells") else records[0]
        return record.model, {"cell": record.cell, "bindings": len(records), "fit": record.summary}
    history = state.history(ref["source"], ref["name"])
    if ref.get("find") == "variable" and ref["source"] in state.roles:
        return _variable(state, ref, history)
    if not history:
        raise NotFound(f"{ref['source']} defines no {ref['name']}")
    value, cell, count = binding(history, ref.get("cells"))
    return value, {"cell": cell, "bindings": count}


def _variable(state, ref: dict, history: list) -> tuple[object, dict]:
    """A notebook's variable for a problem: the name as the problem's cells bound it last, else the model they
    trained last (or, failing that, bound last) that takes the subject's inputs; else the last one whose forward
    fails for another reason than the input's shape (a bug of the subject itself, for its checks to report)."""
    cells = ref.get("cells")
    inside = [(cell, value) for cell, value in history if cells is None or
              (cell is not None and cells[0] <= cell < cells[1])]
    if inside:
        cell, value = inside[-1]
        return value, {"cell": cell, "bindings": len(history), "name": ref["name"], "by": "name"}
    roles = state.roles[ref["source"]]

    def inside_window(cell) -> bool:
        return cell is not None and (cells is None or cells[0] <= cell < cells[1])

    trained = [(cell, model) for cell, model in [*roles.trained, *_fitted(state)] if inside_window(cell)]
    bound = [(cell, value) for values in state.histories.get(ref["source"], {}).values() for cell, value in values
             if inside_window(cell) and (isinstance(value, torch.nn.Module) or keras_support.is_keras_model(value))
             and not any(_part_of(value, model) for _, model in trained)]  # not `enc = ae.encoder`
    # What the cells trained, the latest first; then what they only bound, the latest first
    candidates = [(cell, model, "trained") for cell, model in sorted(trained, key=lambda c: c[0], reverse=True)]
    candidates += [(cell, model, "bound") for cell, model in sorted(bound, key=lambda c: c[0], reverse=True)]
    chosen, failing = None, None
    for candidate in candidates:
        verdict = _takes(candidate[1], ref)
        if verdict is True:
            chosen = candidate
            break
        if verdict == "fails" and failing is None:
            failing = candidate
    chosen = chosen or failing
    if chosen is None:
        raise NotFound(_nothing_trained(state, ref, history))
    cell, model, how = chosen
    return model, {"cell": cell, "bindings": len(history), "name": state.name_of(ref["source"], model),
                   "by": how, "class": type(model).__name__[:100]}


def _part_of(value, model) -> bool:
    """``value`` is one of ``model``'s submodules (its encoder, a layer), not a model of its own."""
    if value is model or not isinstance(model, torch.nn.Module) or not isinstance(value, torch.nn.Module):
        return False
    return any(value is module for module in model.modules())


def _fitted(state) -> list:
    capture = keras_fit.capture
    return [(record.cell, record.model) for record in capture.records] if capture else []


SHAPE_WORDS = ("shape", "size", "dimension", "mat1", "expected input", "channels", "must match", "cannot be multiplied")


def _takes(model, ref: dict) -> bool | str:
    """True: the model is of the subject's kind and runs on an input of one of its shapes; "fails": it is of
    that kind and fails for another reason than the input's shape; False: it is not the subject."""
    keras = keras_support.is_keras_model(model)
    if (ref.get("kind") == "keras") != keras:
        return False
    shapes = ref.get("input_shapes") or ([ref["input_shape"]] if ref.get("input_shape") else [])
    if not shapes:
        return True
    training, failed = getattr(model, "training", False), False
    try:
        for shape in shapes:
            try:
                x = torch.zeros(2, *shape)
                with torch.no_grad():
                    if keras:
                        model(x, training=False)
                    else:
                        parameter = next(model.parameters(), None)
                        model.eval()(x.to(parameter.device) if parameter is not None else x)
                return True
            except Exception as error:  # noqa: BLE001 - a model that cannot take this input is not the subject
                text = f"{type(error).__name__}: {error}".lower()
                failed = failed or not any(word in text for word in SHAPE_WORDS)
        return "fails" if failed else False
    finally:
        if not keras:
            model.train(training)


def _nothing_trained(state, ref: dict, history: list) -> str:
    """What the notebook has instead, for the message."""
    cells = ref.get("cells")
    elsewhere = sorted({cell + 1 for cell, _ in history if cell is not None})
    trained = sorted({cell + 1 for cell, _ in [*state.roles[ref["source"]].trained, *_fitted(state)]
                      if cell is not None})
    where = "its cells" if cells is None else f"cells {cells[0] + 1} to {cells[1]}"
    found = []
    if elsewhere:
        found.append(f"{ref['name']} is bound in cell(s) {', '.join(map(str, elsewhere[:8]))}")
    if trained:
        found.append(f"models are trained in cell(s) {', '.join(map(str, trained[:8]))}")
    return (f"{ref['source']}: {where} bind no {ref['name']} and train no model that takes the handout's input"
            + (f" ({'; '.join(found)}, outside them)" if found else ""))


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    keras = keras_support.keras_module()
    if keras is not None:
        keras.utils.set_random_seed(seed)


def _reset(module: torch.nn.Module) -> torch.nn.Module:
    for child in module.modules():
        reset = getattr(child, "reset_parameters", None)
        if callable(reset):
            reset()
    return module


def call_text(ref: dict, mapping: Mapping | None = None) -> str:
    """How the student would write the call: ``Net(depth=1, width=5)`` (with ``mapping``, as the grader makes it:
    each keyword under the parameter it was mapped to, or by position)."""
    mapping = mapping or Mapping()
    kwargs = ref.get("kwargs", {})
    values = list(ref.get("args", [])) + [kwargs[k] for k in mapping.by_position]
    shown = [repr(a) if not isinstance(a, dict) else "..." for a in values]
    shown += [f"{mapping.keywords.get(k, k)}={v!r}" if not isinstance(v, dict) else
              f"{mapping.keywords.get(k, k)}=..." for k, v in kwargs.items() if k not in mapping.by_position]
    return f"{ref['name']}({', '.join(shown)})"


def arguments_mapping(value, ref: dict) -> Mapping:
    """How the declared keywords of ``ref`` go to the parameters of ``value`` (a class or a factory)."""
    kwargs = ref.get("kwargs", {})
    return map_arguments(value, list(ref.get("args", [])), dict(kwargs), ref.get("argument_aliases"))[2]


def build(state, ref: dict, *, fresh: bool = True, arrays=None):
    """A model instance for ``ref``: built anew (seeded) from a class or factory; for a variable or a
    fitted model, the object itself, or (``fresh``) a copy of its architecture with new weights.
    Raises ``StudentError`` through ``state.student`` when the student's code fails."""
    value, _ = lookup(state, ref)
    find, seed = ref.get("find", "class"), ref.get("seed", 0)
    name = ref["name"]
    if find in ("class", "factory"):
        if not callable(value):
            raise NotFound(f"{name} is a {type(value).__name__}, not a {'class' if find == 'class' else 'function'}")
        if find == "class" and not isinstance(value, type):
            raise NotFound(f"{name} is a {type(value).__name__}, not a class")
        args, kwargs = evaluate_arguments(state, ref.get("args", []), ref.get("kwargs", {}), arrays or {}, build)
        args, kwargs, mapping = map_arguments(value, args, kwargs, ref.get("argument_aliases"))
        _seed(seed)
        return state.student(call_text(ref, mapping), value, *args, **kwargs)
    if not (isinstance(value, torch.nn.Module) or keras_support.is_keras_model(value)):
        raise NotFound(f"{name} holds a {type(value).__name__}, not a model")
    if not fresh:
        return value
    _seed(seed)
    if keras_support.is_keras_model(value):
        return state.student(f"copying {name}", keras_support.fresh_copy, value, seed)
    return state.student(f"copying {name}", lambda m: _reset(copy.deepcopy(m)), value)
