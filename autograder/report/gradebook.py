"""A CSV gradebook: one row per submission, one column per check (its points)."""

from __future__ import annotations

import csv

from ..results import SubmissionResult


def write_gradebook(results: list[SubmissionResult], path) -> None:
    check_ids = list(dict.fromkeys(c.check_id for r in results for c in r.checks))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "assignment", "score", "max_score", *check_ids, "error"])
        for r in results:
            points = {c.check_id: f"{c.points:g}" for c in r.checks}
            writer.writerow([r.submission, r.assignment or "", f"{r.score:g}", f"{r.max_score:g}",
                             *(points.get(i, "") for i in check_ids), r.error or ""])
