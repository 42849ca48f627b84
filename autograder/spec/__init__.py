"""Assignments described as data: ``reference/<package>/assignment.toml`` read into frozen dataclasses.

The engine knows assignments only through this package; adding one means adding
a folder under ``reference/`` with its ``assignment.toml``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from ..common.recipes import Recipe
from .errors import SpecError
from .layers import LayerSpec
from .parse import parse_assignment
from .schema import Assignment, CheckSpec, DataSpec, SubjectSpec


def reference_root() -> Path:
    import reference

    return Path(reference.__file__).resolve().parent


KIT_ENV = "AUTOGRADER_KIT"  # a student kit's folder (several: os.pathsep between): graded from instead of reference/


def kit_roots() -> list[Path]:
    """The student kits named by ``$AUTOGRADER_KIT`` (``autograder student-kit`` writes them)."""
    return [Path(entry) for entry in os.environ.get(KIT_ENV, "").split(os.pathsep) if entry]


def _assignment_tomls() -> list[Path]:
    kits = kit_roots()
    if kits:  # a kit folder holds one assignment.toml per assignment, or is itself one assignment's folder
        return [toml for kit in kits for toml in
                ([kit / "assignment.toml"] if (kit / "assignment.toml").is_file() else
                 sorted(kit.glob("*/assignment.toml")))]
    try:
        return sorted(reference_root().glob("*/assignment.toml"))
    except ImportError:  # a student's installation: no answer key, only kits
        return []


def available_assignments() -> dict[str, Path]:
    """Assignment id -> its assignment.toml: those of the student kits ``$AUTOGRADER_KIT`` names when it is set
    (and only those), else every answer key under ``reference/``."""
    found = {}
    for toml in _assignment_tomls():
        found.setdefault(tomllib.loads(toml.read_text())["id"], toml)
    return found


def read_assignment(assignment_id: str) -> Assignment:
    """The assignment, parsed (its check types are validated by the engine: ``grading.registry.load_assignment``).
    ``assignment_id`` is an id of an answer key under ``reference/`` (or of a kit's), or the path of an
    ``assignment.toml`` (one being written)."""
    if assignment_id.endswith(".toml") and Path(assignment_id).is_file():
        return parse_assignment(Path(assignment_id))
    found = available_assignments()
    if assignment_id not in found:
        where = f" in the kit {os.environ[KIT_ENV]} (${KIT_ENV})" if kit_roots() else ""
        raise SpecError(f"unknown assignment '{assignment_id}'{where}; known: {', '.join(found) or 'none'}")
    return parse_assignment(found[assignment_id])


__all__ = ["KIT_ENV", "Assignment", "CheckSpec", "DataSpec", "LayerSpec", "Recipe", "SpecError", "SubjectSpec",
           "available_assignments", "kit_roots", "parse_assignment", "read_assignment", "reference_root"]
