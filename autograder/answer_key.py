"""Trusted-side access to an answer key: its analytic answers, reference classes and thresholds."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

from .spec import Assignment


def analytic_answer(assignment: Assignment, problem: str):
    """The answer of an analytic problem, computed (and cross-checked) by the answer key's code."""
    module = importlib.import_module(f"{assignment.package}.{assignment.analytic[problem].module}")
    return module.answer()


def derivation_checks(assignment: Assignment) -> dict[str, float]:
    """Largest discrepancy of each numerical check of a written derivation (raises if one fails)."""
    if not assignment.derivations:
        return {}
    return importlib.import_module(f"{assignment.package}.{assignment.derivations}").answer()


def load_module_from(path: Path, name: str | None = None):
    """Import the file at ``path`` as a fresh module (its folder first on sys.path while it runs)."""
    name = name or f"_answer_key_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def solution_class(assignment: Assignment, model: str) -> type:
    """The reference solution's class for ``model``, from the first file of the spec that has it."""
    spec = assignment.models[model]
    for filename in spec.files:
        path = assignment.paths["solution"] / filename
        if path.is_file():
            module = load_module_from(path)
            if hasattr(module, model):
                return getattr(module, model)
    raise LookupError(f"the answer key's solution defines no class {model} in {', '.join(spec.files)}")


def load_thresholds(assignment: Assignment) -> dict:
    path = assignment.paths["thresholds"]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; derive it with `autograder calibrate {assignment.id}`"
        )
    return json.loads(path.read_text())
