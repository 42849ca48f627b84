"""Checks of numeric answers against the answer key, with a tolerance; expected values are never shown."""

from __future__ import annotations

import numpy as np

from ...prose_numbers import WHY, Written, read
from ...results import Verdict
from .expected import Expected


def _missing(answer: dict, name: str, problem: str) -> str:
    if answer.get("elsewhere"):
        cells = ", ".join(map(str, answer["elsewhere"]))
        return (f"{answer['file']} binds {name} only in cell(s) {cells}, outside the cells of {problem}; the grader "
                f"reads each answer from its own problem's cells")
    return f"{answer['file']} defines no variable {name} ({problem})"


def _how(answer: dict) -> str:
    how = answer.get("how") or {}
    if how.get("by") == "scatter":
        return f" (the data of your scatter plot in cell {how['cell'] + 1})"
    if how.get("by") == "plot_x":
        return f" (the x values of your plot in cell {how['cell'] + 1})"
    return ""


def check_written_answer(answer: dict, expected: Expected) -> Verdict:
    """A number written in prose under the problem's heading (``answer["written"]``, candidates with their
    rank), read as ``prose_numbers.read`` reads it; the feedback says which number was read and why."""
    name, problem = expected.name, expected.problem
    written = [Written(**w) for w in answer["written"]]
    if not written:
        return Verdict(False, f"{answer['file']} defines no variable {name}, and no number is written as the answer "
                              f"under the heading of {problem} (numbers that only explain it, such as the 8 of "
                              "'8x8', do not count)")
    wanted = float(np.asarray(answer["expected"], dtype=np.float64).reshape(-1)[0])
    rtol = expected.get("rtol", 1e-3)
    chosen, right = read(written, lambda v: bool(np.isclose(v, wanted, rtol=rtol, atol=1e-9)))
    said = f"read {chosen.value:g} ({chosen.why}) from what you wrote under the heading of {problem}: " \
           f"\"{chosen.line}\""
    if right:
        return Verdict(True, f"{name}: {said}; it matches the answer key")
    others = sorted({w.value for w in written} - {chosen.value})
    more = f" Other numbers written there: {', '.join(f'{v:g}' for v in others[:6])}." if others else ""
    return Verdict(False, f"{name}: {said}; it does not match the answer key within a relative tolerance of "
                          f"{rtol:g}.{more} Write the answer on its own line or in bold to say which number it is "
                          f"({WHY[1]} numbers are read first).")


def check_numeric_answer(answer: dict, expected: Expected) -> Verdict:
    """``answer``: what the student's file holds under the variable (``found``: a value, ``type``, or absent)
    and ``expected``, the answer key's value; ``file``. Options: ``rtol``."""
    file, name, problem = answer["file"], expected.name, expected.problem
    if answer.get("import_failed"):
        return Verdict(False, f"{file} could not be imported ({answer['import_failed']}), so {name} "
                              f"({problem}) could not be read")
    if answer.get("type") == "text":
        return check_written_answer(answer, expected)
    if "found" not in answer:
        return Verdict(False, _missing(answer, name, problem))
    if answer["found"] is None:
        return Verdict(False, f"{name} in {file} is a {str(answer['type'])[:80]}, not numbers")
    found = np.asarray(answer["found"], dtype=np.float64)
    wanted = np.asarray(answer["expected"], dtype=np.float64)
    rtol = expected.get("rtol", 1e-3)
    if found.size != wanted.size:
        return Verdict(False, f"{name} has {found.size} number(s); {problem} asks for {wanted.size} "
                              f"(shape {wanted.shape})")
    written = _how(answer)
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
        return Verdict(False, _missing(answer, name, expected.problem))
    if answer["found"] is None:
        return Verdict(False, f"{name} in {file} is a {str(answer['type'])[:80]}, not numbers")
    values = np.unique(np.asarray(answer["found"], dtype=np.float64).reshape(-1))
    count, low, high = expected["count"], expected["low"], expected["high"]
    shown = ", ".join(f"{v:g}" for v in values[:20])
    if len(values) < count or values.min() > low or values.max() < high:
        return Verdict(False, f"{name}{_how(answer)} holds {len(values)} value(s) ({shown}); {expected.problem} asks "
                              f"for at least {count}, from {low:g} to {high:g}")
    return Verdict(True, f"{name}{_how(answer)} holds {len(values)} values from {values.min():g} to "
                         f"{values.max():g}")


def check_value_shape(answer: dict, expected: Expected) -> Verdict:
    """The variable holds an array of the shape expected (what a notebook computed for a plot, say)."""
    file, name = answer["file"], expected.name
    if "found" not in answer:
        return Verdict(False, _missing(answer, name, expected.problem))
    shape = answer.get("shape") or (np.shape(answer["found"]) if answer["found"] is not None else None)
    if shape is None:
        return Verdict(False, f"{name} in {file} is a {str(answer['type'])[:80]}, not an array")
    wanted = tuple(expected["shape"])
    if shape != wanted:
        return Verdict(False, f"{name}{_how(answer)} has shape {shape}; {expected.problem} asks for {wanted}")
    return Verdict(True, f"{name}{_how(answer)} has shape {wanted}")
