"""Seconds per submission for a class of one family's submissions, one at a time and several at a time.

    python tests/benchmarks/batch_throughput.py [--family cpsc663-ex2] [--count 20] [--jobs 1 2] [--cold]
        [--device cpu|cuda] [--data-dir DIR]

Not run in CI (it grades the class once per --jobs value): run it on the machine
to measure, e.g. a GPU machine with ``--count 64 --jobs 1 4 8 --device cuda``.
The class is copies of the bundled examples (correct and broken, files and
notebooks), each copy its own submission. Prints one line per --jobs value and
the brief-training floor (the seconds the checks that train spend, summed);
with --cold, also each --jobs value with every worker started cold (no warm
templates), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from autograder.batch.run import WARM_ENV, grade_many  # noqa: E402
from autograder.grading.examples import differences, families  # noqa: E402

FAMILY = "cpsc663-ex2"


def make_class(into: Path, count: int, name: str = FAMILY) -> list[tuple[Path, str]]:
    family = next(f for f in families(ROOT / "submissions") if f.folder.name == name)
    examples = sorted(family.examples)
    made = []
    for index in range(count):
        example = examples[index % len(examples)]
        target = into / f"{index:03d}-{example}"
        shutil.copytree(family.folder / example, target, symlinks=False)
        made.append((target, example))
    return made


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default=FAMILY, help="the folder of submissions/ the class is copied from")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir")
    parser.add_argument("--cold", action="store_true", help="also grade with every worker started cold")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    family = next(f for f in families(ROOT / "submissions") if f.folder.name == args.family)
    figures = []
    with tempfile.TemporaryDirectory() as scratch:
        made = make_class(Path(scratch), args.count, args.family)
        paths = [path for path, _ in made]
        # the data caches warm
        grade_many(paths[:1], device=args.device, data_dir=args.data_dir, assignment_id=family.assignment)
        for jobs, warm in [(jobs, warm) for jobs in args.jobs for warm in ([True, False] if args.cold else [True])]:
            os.environ[WARM_ENV] = "1" if warm else "0"
            started = time.monotonic()
            results = grade_many(paths, jobs=jobs, device=args.device, data_dir=args.data_dir,
                                 assignment_id=family.assignment)
            seconds = time.monotonic() - started
            wrong = [example for (_, example), r in zip(made, results, strict=True)
                     if differences(r, family, family.examples[example]["fails"])]
            training = sum(v for r in results for k, v in r.stage_seconds.items() if "train" in k)
            line = {"jobs": jobs, "warm": warm, "submissions": len(paths), "seconds": round(seconds, 1),
                    "per_submission": round(seconds / len(paths), 2),
                    "per_minute": round(60 * len(paths) / seconds, 1),
                    "training_seconds_per_submission": round(training / len(paths), 2),
                    "wrong_grades": wrong}
            figures.append(line)
            print(json.dumps(line), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    return 1 if any(f["wrong_grades"] for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
