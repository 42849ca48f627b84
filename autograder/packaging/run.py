"""What Gradescope's image runs: ``python -m autograder.packaging.run --root /autograder [--prepare]``.

``--prepare`` (from setup.sh, once): load the assignment and every data set it reads, so that a broken install
fails the build rather than every submission, and the data cache is warm in the image. Without it (from
run_autograder, per submission): grade ``ROOT/submission`` and write ``ROOT/results/results.json``, whatever
the submission does; the detailed report goes to stdout, which only the staff see.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from .gradescope import SETTINGS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.packaging.run")
    parser.add_argument("--root", default="/autograder", help="the folder laid out like Gradescope's /autograder")
    parser.add_argument("--prepare", action="store_true", help="check the install and warm the data cache")
    args = parser.parse_args(argv)
    root = Path(args.root)
    settings = json.loads((root / "source" / SETTINGS).read_text())
    data_dir = root / "source" / settings["data_dir"] if settings.get("data_dir") else None
    if args.prepare:
        return prepare(settings["assignment"], data_dir, settings.get("device", "auto"))
    return grade_submission(root, settings["assignment"], data_dir, settings.get("device", "auto"))


def prepare(assignment_id: str, data_dir, device: str) -> int:
    import torch

    from ..datasets.declared import DataMissing, load_declared
    from ..devices import choose_device
    from ..grading.data import used_data
    from ..grading.registry import load_assignment
    from ..host.sandbox import describe_protection

    print(f"Python {platform.python_version()}, torch {torch.__version__}", file=sys.stderr)
    assignment = load_assignment(assignment_id)
    for key in used_data(assignment):
        try:
            print(f"data: {load_declared(assignment.data_spec(key), data_dir).description}", file=sys.stderr)
        except DataMissing as missing:
            print(f"data: {missing} (its checks will be not gradable)", file=sys.stderr)
    for line in describe_protection(str(choose_device(device))) or ["all in place"]:
        print(f"sandbox: {line}", file=sys.stderr)
    return 0


def grade_submission(root: Path, assignment_id: str, data_dir, device: str) -> int:
    from ..grading.runner import grade_safely, not_graded
    from ..host.sandbox import refusal
    from ..report.gradescope import write_gradescope
    from ..report.terminal import render_submission

    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    submission = root / "submission"
    if (why := refusal()) is not None:
        result = not_graded(submission, {"assignment_id": assignment_id},
                            "the grader is not set up to run code safely; the course staff have the details", why)
    else:
        result = grade_safely(submission, assignment_id=assignment_id, data_dir=data_dir, device=device)
    write_gradescope(result, results / "results.json")
    print(render_submission(result))
    for entry in result.staff_log:
        print(f"autograder: {entry}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
