"""Text rendering of an answer key: analytic answers and the reference models' parameter counts."""

from __future__ import annotations

import numpy as np
import torch

from .answer_key import analytic_answer, derivation_checks, solution_class
from .common.layers import describe_layers, parameters_by_formula
from .spec import Assignment


def _format(value) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=8, suppress_small=False, separator=", ")
    return str(value)


def _answer_lines(answer) -> list[str]:
    items = answer.as_dict() if hasattr(answer, "as_dict") else answer
    width = max(len(str(k)) for k in items)
    return [f"    {str(k):{width}} = {_format(v)}".replace("\n", "\n" + " " * (width + 7)) for k, v in items.items()]


def model_parameter_counts(assignment: Assignment) -> dict[str, tuple[int, int]]:
    """Model (with its arguments) -> (count from PyTorch, count from the layer formulas)."""
    counts = {}
    for key, spec in assignment.models.items():
        if spec.find not in ("class", "factory") and not spec.reference:
            continue
        for kwargs in [spec.kwargs, *spec.variant_kwargs()]:
            torch.manual_seed(0)
            model = solution_class(assignment, key)(**kwargs)
            label = f"{spec.name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})" if kwargs else spec.name
            by_torch = sum(p.numel() for p in model.parameters())
            try:
                by_formula = parameters_by_formula(describe_layers(model))
            except ValueError:  # a layer with no formula (a Keras layer): its own count stands
                by_formula = by_torch
            counts[label] = (by_torch, by_formula)
    return counts


def render_analytic_answers(assignment: Assignment) -> str:
    lines = [f"{assignment.id}: {assignment.title}", ""]
    for problem, spec in assignment.analytic.items():
        lines.append(f"  Problem {problem}: {spec.title}  (computed two ways, they agree)")
        lines.extend(_answer_lines(analytic_answer(assignment, problem)))
        lines.append("")
    checks = derivation_checks(assignment)
    if checks:
        lines.append("  Written derivations, checked numerically (autograd or direct evaluation)")
        lines.extend(f"    {problem:6} max discrepancy {value:.1e}" for problem, value in checks.items())
        lines.append("")
    lines.append("  Reference models (parameters: PyTorch count / count from the layer formulas)")
    for name, (by_torch, by_formula) in model_parameter_counts(assignment).items():
        agree = "agree" if by_torch == by_formula else "DISAGREE"
        lines.append(f"    {name:9} {by_torch:>9,} / {by_formula:>9,}  {agree}")
    return "\n".join(lines)
