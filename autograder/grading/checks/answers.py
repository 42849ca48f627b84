"""Checks of numeric answers against the answer key, with a tolerance; expected values are never shown."""

from __future__ import annotations

import numpy as np

from ...results import Verdict
from .expected import Expected


def check_numeric_answer(answer: dict, expected: Expected) -> Verdict:
    """``answer``: what the student's file holds under the variable (``found``: a value, ``type``, or absent)
    and ``expected``, the answer key's value; ``file``. Options: ``rtol``."""
    file, name, problem = answer["file"], expected.name, expected.problem
    if answer.get("import_failed"):
        return Verdict(False, f"{file} could not be imported ({answer['import_failed']}), so {name} "
                              f"({problem}) could not be read")
    if "found" not in answer:
        return Verdict(False, f"{file} defines no variable {name} ({problem})")
    if answer.get("type") == "text" and answer["found"] is None:
        return Verdict(False, f"no number is written under the heading of {problem}")
    if answer["found"] is None:
        return Verdict(False, f"{name} in {file} is a {str(answer['type'])[:80]}, not numbers")
    found = np.asarray(answer["found"], dtype=np.float64)
    wanted = np.asarray(answer["expected"], dtype=np.float64)
    rtol = expected.get("rtol", 1e-3)
    if found.size != wanted.size:
        return Verdict(False, f"{name} has {found.size} number(s); {problem} asks for {wanted.size} "
                              f"(shape {wanted.shape})")
    written = f" (read from what you wrote under its heading: \"{answer['text']}\")" if answer.get("text") else ""
    if np.allclose(found.reshape(wanted.shape), wanted, rtol=rtol, atol=1e-9):
        return Verdict(True, f"{name} matches the answer key (relative tolerance {rtol:g}){written}")
    if wanted.ndim == 2 and np.allclose(found.reshape(wanted.shape).T, wanted, rtol=rtol, atol=1e-9):
        return Verdict(True, f"{name} matches the answer key once transposed: the handout's convention is W[j, k] "
                             "from neuron k to neuron j; accepted")
    return Verdict(False, f"{name} does not match the answer key within a relative tolerance of {rtol:g} "
                          f"({problem}){written}. Recompute it.")


def check_value_span(answer: dict, expected: Expected) -> Verdict:
    """The variable holds at least ``count`` distinct values, from ``low`` or less to ``high`` or more."""
    file, name = answer["file"], expected.name
    if "found" not in answer:
        return Verdict(False, f"{file} defines no variable {name} ({expected.problem})")
    if answer["found"] is None:
        return Verdict(False, f"{name} in {file} is a {str(answer['type'])[:80]}, not numbers")
    values = np.unique(np.asarray(answer["found"], dtype=np.float64).reshape(-1))
    count, low, high = expected["count"], expected["low"], expected["high"]
    shown = ", ".join(f"{v:g}" for v in values[:20])
    if len(values) < count or values.min() > low or values.max() < high:
        return Verdict(False, f"{name} holds {len(values)} value(s) ({shown}); {expected.problem} asks for at least "
                              f"{count}, from {low:g} to {high:g}")
    return Verdict(True, f"{name} holds {len(values)} values from {values.min():g} to {values.max():g}")


def check_value_shape(answer: dict, expected: Expected) -> Verdict:
    """The variable holds an array of the shape expected (what a notebook computed for a plot, say)."""
    file, name = answer["file"], expected.name
    if "found" not in answer:
        return Verdict(False, f"{file} defines no variable {name} ({expected.problem})")
    shape = answer.get("shape") or (np.shape(answer["found"]) if answer["found"] is not None else None)
    if shape is None:
        return Verdict(False, f"{name} in {file} is a {str(answer['type'])[:80]}, not an array")
    wanted = tuple(expected["shape"])
    if shape != wanted:
        return Verdict(False, f"{name} has shape {shape}; {expected.problem} asks for {wanted}")
    return Verdict(True, f"{name} has shape {wanted}")
