"""Checks of what a model does, whatever its code looks like: shapes, what it returns, the bottleneck, skip
connections, linearity, log-probabilities."""

from __future__ import annotations

import math

import numpy as np

from ...results import Verdict
from .expected import Expected


def _shown(shape) -> str:
    return "(N, " + ", ".join(map(str, shape)) + ")"


def check_output_shapes(shapes: dict, expected: Expected) -> Verdict:
    """``shapes``: ``accepted`` (input shape -> output shape, or an error text), ``returns_tuple``.
    Some input shape the handout allows works, and the output has the right size per example (``outputs``
    values, else as many as the input); every shape in ``require`` must work."""
    results, good = [], []
    for shape, outcome in shapes["accepted"].items():
        if isinstance(outcome, str):
            results.append(f"{_shown(shape)}: {outcome}")
            continue
        width = expected.get("outputs") or math.prod(shape)
        per_example = math.prod(outcome[1:]) if len(outcome) > 1 else 0
        if outcome[0] == 2 and per_example == width:
            good.append(tuple(shape))
            results.append(f"{_shown(shape)} -> {tuple(outcome)}")
        else:
            results.append(f"{_shown(shape)} -> {tuple(outcome)}, expected {width} values per example")
    required = [tuple(s) for s in expected.get("require", [])]
    missing = [s for s in required if s not in good]
    if not good or missing:
        which = "the inputs the handout requires" if missing else "the inputs the handout allows"
        return Verdict(False, f"{expected.name} gives no output of the right size for {which}: "
                              f"{'; '.join(results)}")
    first = next(iter(shapes["accepted"]))
    width = expected.get("outputs") or math.prod(first)
    tuple_note = (f" ({expected.name}.forward returns a tuple: its element with {width} "
                  "values per example was taken as the output)") if shapes["returns_tuple"] else ""
    taken = "; ".join(f"{_shown(shape)} -> {tuple(shapes['accepted'][shape])}" for shape in shapes["accepted"]
                      if tuple(shape) in good)
    others = [_shown(shape) for shape in shapes["accepted"] if tuple(shape) not in good]
    # a shape it does not take is no fault where the handout allows either: named, without the error it raised
    others_note = f"; it does not take {' or '.join(others)}, which the handout allows too (either is fine)" \
        if others else ""
    return Verdict(True, f"{expected.name} takes {' and '.join(map(_shown, good))}: {taken}{others_note}{tuple_note}")


def _unpacking(entry: dict) -> str:
    """Where and how a notebook cell unpacked what forward returned, in words."""
    returned, text, count = entry["returned"], entry["text"], entry["count"]
    where = f"cell {entry['cell'] + 1}" if entry.get("cell") is not None else "a cell"
    if returned["kind"] == "tensor":
        size = returned["shape"][0] if returned["shape"] else 0
        result = (f"so the batch of {size} was split into {size} single examples without an error" if size == count
                  else f"which fails for a batch of {size}")
        return f"{where} unpacks `{text}` from a tensor of shape {tuple(returned['shape'])}, {result}"
    return f"{where} unpacks `{text}` into {count} names from a {returned['kind']} of {returned['count']}"


def check_returns(returned: dict, expected: Expected) -> Verdict:
    """``returned``: what forward gave for a batch (``kind``, ``count`` of tensors, their ``shapes``, ``batch``).
    Expected ``count`` tensors (e.g. ``(out, z)``), each with the batch in front.

    With ``as_used`` (the check exists because the handout's own cell unpacks forward's result), a different
    return costs points only where the notebook relies on it: ``returned["unpacked"]`` lists the cells that
    unpacked the model's result into another number of names; none, and the notebook is consistent."""
    count, batch = expected["count"], returned["batch"]
    kind, shapes = returned["kind"], returned["shapes"]
    if returned["count"] != count or (count > 1 and kind == "tensor"):
        found = (f"a single tensor of shape {tuple(shapes[0])}" if kind == "tensor" else
                 f"a {kind} of {returned['count']} tensor(s)")
        if expected.get("as_used") and "unpacked" in returned:
            if not returned["unpacked"]:
                return Verdict(True, f"{expected.name}.forward returns {found} for a batch of {batch}, not the "
                                     f"handout's {count} tensors; no cell of your notebook unpacks what it returns "
                                     "into another number of names, so it is consistent and this costs nothing")
            shown = "; ".join(_unpacking(entry) for entry in returned["unpacked"][:3])
            return Verdict(False, f"{expected.name}.forward returns {found} for a batch of {batch}; the handout asks "
                                  f"for {count} tensors, and your notebook relies on it: {shown}")
        unpacked = ""
        if kind == "tensor" and count == 2:
            unpacked = (f": `a, b = {expected.name}(x)` then unpacks the batch itself, which splits a batch of 2 in "
                        "two without an error and raises for any other batch size")
        return Verdict(False, f"{expected.name}.forward returns {found} for a batch of {batch}; the handout asks for "
                              f"{count} tensors{unpacked}")
    wrong = [tuple(s) for s in shapes if not s or s[0] != batch]
    if wrong:
        return Verdict(False, f"{expected.name}.forward returns tensors of shapes {', '.join(map(str, wrong))}, "
                              f"which do not keep the batch of {batch} in front")
    return Verdict(True, f"{expected.name}.forward returns {count} tensor(s) of shapes "
                         f"{', '.join(str(tuple(s)) for s in shapes)} for a batch of {batch}")


def check_reconstruction_through_code(bottleneck, expected: Expected) -> Verdict:
    """forward depends on the input only through the code: its Jacobian's rank is at most the code's width."""
    rank, width = bottleneck.rank, bottleneck.width
    if rank > width:
        return Verdict(False, f"{expected.name}.forward depends on the input through more than its {width}-D code "
                              f"(its output moves in {rank} independent directions when the input is perturbed). "
                              "Make forward return decoder(encoder(x)), with nothing from x reaching the decoder "
                              "except the code.")
    return Verdict(True, f"{expected.name}'s reconstruction depends on the input only through its {width}-D code")


def check_skip_connections(bottleneck, expected: Expected) -> Verdict:
    """Skip connections carry information around the code: the Jacobian's rank exceeds the code's width."""
    rank, width = bottleneck.rank, bottleneck.width
    if rank <= width:
        return Verdict(False, f"{expected.name}'s output depends on the input only through its {width}-D code, so "
                              "it has no working skip connection")
    return Verdict(True, f"{expected.name}'s skip connections carry information around the {width}-D code")


def check_affine(deviation: float, expected: Expected) -> Verdict:
    """``deviation``: max |f(a) + f(b) - f(0) - f(a + b)| relative to the outputs' scale, over random inputs.
    An affine map (linear layers, biases, no activation) has none beyond rounding."""
    tolerance = expected.get("tolerance", 1e-4)
    if deviation > tolerance:
        return Verdict(False, f"{expected.name} is not linear: f(a) + f(b) - f(0) differs from f(a + b) by "
                              f"{deviation:.3g} (relative); the handout asks for no nonlinearity anywhere")
    return Verdict(True, f"{expected.name} is an affine map (f(a) + f(b) - f(0) = f(a + b) to {deviation:.1e})")


def check_log_probabilities(rows: np.ndarray, expected: Expected) -> Verdict:
    """Each output row is log-probabilities: its exponentials sum to 1."""
    sums = np.exp(np.asarray(rows, np.float64)).sum(axis=1)
    worst = float(np.abs(sums - 1).max()) if len(sums) else float("inf")
    if not np.isfinite(worst) or worst > 1e-3:
        return Verdict(False, f"{expected.name}'s outputs are not log-probabilities: their exponentials sum to "
                              f"{float(sums.min()):.4g} to {float(sums.max()):.4g} per row, not 1. End forward with "
                              "LogSoftmax(dim=1).")
    return Verdict(True, f"{expected.name} returns log-probabilities (each row's exponentials sum to 1)")
