"""What ``autograder check`` needs of kits: finding the student's kit, grading from it, and the points that
are left to the instructor's grading (never reported as passed)."""

from __future__ import annotations

import contextlib
import os
import tomllib
from pathlib import Path

from ..spec import KIT_ENV, Assignment, SpecError
from .public import HIDDEN, WRITTEN
from .writer import MANIFEST, is_kit

KIT_FOLDER = "kit"  # where a student keeps the kit: in the folder checked, or beside it


def find_kit(path, given=None) -> Path | None:
    """The kit to grade ``path`` with: ``given`` (``--kit``), else ``kit/`` in the folder or beside it; None
    when ``$AUTOGRADER_KIT`` already names one, or there is none."""
    if given:
        if not is_kit(Path(given)):
            raise SpecError(f"{given} is not a student kit: it holds no {MANIFEST} (write one with "
                            "`autograder student-kit ID --out DIR`)")
        return Path(given)
    if os.environ.get(KIT_ENV):
        return None
    where = Path(path).resolve()
    folder = where if where.is_dir() else where.parent
    return next((c for c in (folder / KIT_FOLDER, folder.parent / KIT_FOLDER) if c.is_dir() and is_kit(c)), None)


@contextlib.contextmanager
def using_kit(kit: Path | None):
    """Assignments are read from ``kit`` (not from the answer key) inside this block."""
    if kit is None:
        yield
        return
    before = os.environ.get(KIT_ENV)
    os.environ[KIT_ENV] = str(Path(kit).resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(KIT_ENV, None)
        else:
            os.environ[KIT_ENV] = before


def instructor_points(assignment: Assignment, manual_points: float) -> list[tuple[str, float]]:
    """The points ``autograder check`` does not grade, by kind: a kit's from its kit.toml; an answer key's are
    its checks that are not visible; and the written answers (``manual_points``)."""
    if (assignment.root / MANIFEST).is_file():
        parts = dict(tomllib.loads((assignment.root / MANIFEST).read_text()).get("instructor", {}))
    else:
        from ..grading.plan import plan_checks

        parts = {HIDDEN: sum(case.points for case in plan_checks(assignment) if case.visibility != "visible")}
    parts[WRITTEN] = parts.get(WRITTEN, 0.0) + manual_points
    return [(kind, float(points)) for kind, points in parts.items() if points]
