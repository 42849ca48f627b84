"""Assignments described as data: ``reference/<package>/assignment.toml`` read into frozen dataclasses.

The engine knows assignments only through this package; adding one means adding
a folder under ``reference/`` with its ``assignment.toml``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import SpecError
from .layers import LayerSpec
from .parse import parse_assignment
from .recipes import Recipe
from .schema import Assignment, CheckSpec, DataSpec, SubjectSpec


def reference_root() -> Path:
    import reference

    return Path(reference.__file__).resolve().parent


def available_assignments() -> dict[str, Path]:
    """Assignment id -> its assignment.toml, for every answer key under ``reference/``."""
    found = {}
    for toml in sorted(reference_root().glob("*/assignment.toml")):
        found[tomllib.loads(toml.read_text())["id"]] = toml
    return found


def load_assignment(assignment_id: str) -> Assignment:
    """The assignment, parsed and its checks validated against the engine's check types. ``assignment_id`` is
    an id of an answer key under ``reference/``, or the path of an ``assignment.toml`` (one being written)."""
    if assignment_id.endswith(".toml") and Path(assignment_id).is_file():
        return validated(parse_assignment(Path(assignment_id)))
    found = available_assignments()
    if assignment_id not in found:
        raise SpecError(f"unknown assignment '{assignment_id}'; known: {', '.join(found) or 'none'}")
    return validated(parse_assignment(found[assignment_id]))


def validated(assignment: Assignment) -> Assignment:
    """Raise SpecError if a check names an unknown check type or an option that type does not take."""
    from ..grading.registry import validate_checks

    validate_checks(assignment)
    return assignment


__all__ = ["Assignment", "CheckSpec", "DataSpec", "LayerSpec", "Recipe", "SpecError", "SubjectSpec",
           "available_assignments", "load_assignment", "parse_assignment", "reference_root", "validated"]
