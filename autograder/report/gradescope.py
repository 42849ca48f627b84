"""Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""

from __future__ import annotations

import json

from ..results import SubmissionResult


def gradescope_results(result: SubmissionResult) -> dict:
    if result.error:
        return {"score": 0, "execution_time": round(result.seconds), "visibility": "visible",
                "output": f"Your submission could not be graded: {result.error}", "tests": []}
    output = "\n".join(f"Note: {note}" for note in result.notes)
    return {
        "score": result.score,
        "execution_time": round(result.seconds),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {"name": check.title, "number": check.check_id, "score": check.points, "max_score": check.max_points,
             "status": check.status, "output": check.feedback, "visibility": check.visibility}
            for check in result.checks
        ],
    }


def write_gradescope(result: SubmissionResult, path) -> None:
    with open(path, "w") as f:
        json.dump(gradescope_results(result), f, indent=1)
