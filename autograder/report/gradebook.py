"""CSV gradebooks: one for the staff (a row per submission, a column per check's points) and one that Canvas
imports (a row per student, a column per assignment's score).

Canvas's Gradebook import reads a header ``Student, ID, SIS User ID, SIS Login ID, Section`` followed by one
column per assignment, and finds each student by their Canvas ``ID``, else their SIS User ID, else their SIS
Login ID, else their name. A submission downloaded from Canvas is named
``doejohn_12345_6789012_hw2.zip`` (sortable name, Canvas user id, submission id, file name; ``_LATE`` after the
name when late): its user id goes to ``ID``. Any other name (a folder named ``jdoe``) is taken as the SIS Login
ID. The assignment's column is headed with its id (``cpsc663-ex2``): an unknown header makes Canvas create a
new assignment, so rename it to the Canvas assignment's name (or ``Name (assignment id)``) to fill that one.
A submission that could not be graded gets an empty cell, which Canvas leaves as it was.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..results import SubmissionResult

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_DOWNLOAD_NAME = re.compile(r"^(?P<name>[^_]+?)(?:_LATE)?_(?P<user_id>\d+)_(?P<submission_id>\d+)(?:_|$)")


class _SafeWriter:
    """A CSV writer whose cells cannot be spreadsheet formulas: a cell that a spreadsheet would evaluate (starting
    with =, +, -, @, a tab or a carriage return: OWASP's list) gets a leading apostrophe. Numbers are written as
    the grader formats them, so a negative score is never one of these."""

    FORMULA = ("=", "+", "-", "@", "\t", "\r")

    def __init__(self, f):
        self._writer = csv.writer(f)

    def writerow(self, row) -> None:
        self._writer.writerow([f"'{cell}" if isinstance(cell, str) and cell.startswith(self.FORMULA) else cell
                               for cell in row])


def write_gradebook(results: list[SubmissionResult], path, *, canvas: bool = True) -> None:
    """``path``: every check's points; with ``canvas``, also ``<stem>-canvas.csv`` beside it for Canvas."""
    check_ids = list(dict.fromkeys(c.check_id for r in results for c in r.checks))
    partial = any(r.selection for r in results)  # a partial run says so on every row
    with open(path, "w", newline="") as f:
        writer = _SafeWriter(f)
        writer.writerow(["submission", "assignment", "score", "max_score", *check_ids, "error",
                         *(["partial run"] if partial else [])])
        for r in results:
            points = {c.check_id: f"{c.points:g}" for c in r.checks}
            writer.writerow([r.submission, r.assignment or "", f"{r.score:g}", f"{r.max_score:g}",
                             *(points.get(i, "") for i in check_ids), r.error or "",
                             *([r.selection or ""] if partial else [])])
    if canvas:
        write_canvas_gradebook(results, canvas_path(path))


def canvas_path(path) -> Path:
    """Where the Canvas gradebook of the gradebook ``path`` goes: ``gradebook.csv`` -> ``gradebook-canvas.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}-canvas.csv")


@dataclass(frozen=True)
class CanvasStudent:
    name: str
    canvas_id: str = ""
    sis_login_id: str = ""


def canvas_student(submission: str) -> CanvasStudent:
    """Who a submission is, for Canvas: from the name Canvas gives its downloads, else the name as a login."""
    stem = submission[:-4] if submission.lower().endswith(".zip") else submission
    found = CANVAS_DOWNLOAD_NAME.match(stem)
    if found:
        return CanvasStudent(found["name"], canvas_id=found["user_id"])
    return CanvasStudent(stem, sis_login_id=stem)


def write_canvas_gradebook(results: list[SubmissionResult], path) -> None:
    """One row per submission with its automatic score under its assignment's column, as Canvas imports it."""
    assignments = list(dict.fromkeys(r.assignment for r in results if r.assignment))
    with open(path, "w", newline="") as f:
        writer = _SafeWriter(f)
        writer.writerow([*CANVAS_STUDENT_COLUMNS, *assignments])
        for r in results:
            student = canvas_student(r.submission)
            scores = [f"{r.score:g}" if r.assignment == a and not r.error else "" for a in assignments]
            writer.writerow([student.name, student.canvas_id, "", student.sis_login_id, "", *scores])
