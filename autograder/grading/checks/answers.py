"""Checks of numeric answers against the answer key, with a tolerance; expected values are never shown."""

from __future__ import annotations

import numpy as np

from ...answer_key import analytic_answer
from ...results import Verdict
from ...spec import AnswerSpec
from ..context import CheckFailed, GradingContext, import_timeout


def _expected(ctx: GradingContext, answer: AnswerSpec) -> np.ndarray:
    key = ("analytic", answer.problem)
    if key not in ctx.cache:
        ctx.cache[key] = analytic_answer(ctx.assignment, answer.problem)
    value = ctx.cache[key]
    found = value.as_dict()[answer.key] if hasattr(value, "as_dict") else value[answer.key]
    return np.asarray(found, dtype=np.float64)


def student_values(ctx: GradingContext) -> dict:
    """The numeric variables of the answers file, as the worker read them (cached)."""
    key = ("answers",)
    if key not in ctx.cache:
        spec = ctx.assignment.answers
        file = spec.file
        if not ctx.submission.has(file) and ctx.notebook_namespace_ready():
            file = ctx.notebook_file
            ctx.notes.append(f"{spec.file} is missing; the numeric answers were read from the variables of "
                             f"the notebook {file}")
        if not ctx.submission.has(file):
            ctx.cache[key] = CheckFailed(f"{file} is missing; put your numeric answers in {file} "
                                         "(see the handout for the variable names)")
        else:
            try:
                header, _ = ctx.call("values", f"importing {file}", import_timeout(), file=file,
                                     names=[a.variable for a in spec.variables.values()])
                ctx.cache[key] = header["values"]
                ctx.cache[("answers file",)] = file
            except CheckFailed as failure:
                ctx.cache[key] = failure
    if isinstance(ctx.cache[key], CheckFailed):
        raise ctx.cache[key]
    return ctx.cache[key]


def check_numeric_answer(ctx: GradingContext, answer: AnswerSpec) -> Verdict:
    values = student_values(ctx)
    file, rtol = ctx.cache.get(("answers file",), ctx.assignment.answers.file), ctx.assignment.answers.tolerance
    if answer.variable not in values:
        return Verdict(False, f"{file} defines no variable {answer.variable} (Problem {answer.problem})")
    found = values[answer.variable]["value"]
    if found is None:
        return Verdict(False, f"{answer.variable} in {file} is a {values[answer.variable]['type']}, not numbers")
    found = np.asarray(found, dtype=np.float64)
    expected = _expected(ctx, answer)
    if found.size != expected.size:
        return Verdict(False, f"{answer.variable} has {found.size} number(s); Problem {answer.problem} asks for "
                              f"{expected.size} (shape {expected.shape})")
    close = np.allclose(found.reshape(expected.shape), expected, rtol=rtol, atol=1e-9)
    if close:
        return Verdict(True, f"{answer.variable} matches the answer key (relative tolerance {rtol:g})")
    if expected.ndim == 2 and np.allclose(found.reshape(expected.shape).T, expected, rtol=rtol, atol=1e-9):
        return Verdict(True, f"{answer.variable} matches the answer key once transposed: the handout's "
                             "convention is W[j, k] from neuron k to neuron j; accepted")
    return Verdict(False, f"{answer.variable} does not match the answer key within a relative tolerance of "
                          f"{rtol:g} (Problem {answer.problem}). Recompute it from the network's values.")
