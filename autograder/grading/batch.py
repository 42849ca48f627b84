"""`autograder grade PATH...`: find the submissions, grade each, write the reports, print the table."""

from __future__ import annotations

import sys
from pathlib import Path

from ..report.gradebook import write_gradebook
from ..report.gradescope import write_gradescope
from ..report.junit import write_junit
from ..report.terminal import render_submission, render_table
from ..submission import CLUTTER, STUDENT_SUFFIXES
from .runner import grade


def looks_like_one_submission(folder: Path) -> bool:
    """A folder with student files at its top (or in one wrapping folder) is one submission."""
    children = [c for c in folder.iterdir() if c.name not in CLUTTER and not c.name.startswith(".")]
    if any(c.is_file() and c.suffix in STUDENT_SUFFIXES - {".zip"} for c in children):
        return True
    dirs = [c for c in children if c.is_dir()]
    return len(children) == 1 and len(dirs) == 1 and looks_like_one_submission(dirs[0])


def expand(paths: list[str]) -> list[Path]:
    found = []
    for text in paths:
        path = Path(text)
        if path.is_dir() and not looks_like_one_submission(path):
            found.extend(sorted(c for c in path.iterdir() if not c.name.startswith(".") and c.name not in CLUTTER
                                and (c.is_dir() or c.suffix.lower() == ".zip")))
        else:
            found.append(path)
    return found


def _progress(done: int, total: int, name: str) -> None:
    if total < 2:
        return
    bar = "#" * round(30 * done / total)
    end = "\n" if done == total or not sys.stderr.isatty() else ""
    print(f"\r[{bar:<30}] {done}/{total} {name[:40]:<40}", end=end, file=sys.stderr, flush=True)


def warn_missing_protection(device: str) -> None:
    """Say once, before grading, which protections this machine cannot give the worker."""
    from ..devices import choose_device
    from ..sandbox import describe_protection

    for line in describe_protection(str(choose_device(device))):
        print(f"autograder: sandbox: {line}", file=sys.stderr)


def grade_many(submissions: list[Path], **options) -> list:
    """Grade each submission in turn; one that cannot be graded, or that attacks, never stops the batch."""
    results = []
    for index, path in enumerate(submissions):
        _progress(index, len(submissions), path.name)
        results.append(grade(path, **options))
        _progress(index + 1, len(submissions), path.name)
    return results


def grade_paths(args) -> int:
    warn_missing_protection(args.device)
    submissions = expand(args.paths)
    if not submissions:
        print("autograder grade: no submissions found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    results = grade_many(submissions, assignment_id=args.assignment, data_dir=args.data_dir, device=args.device,
                         keyword=args.keyword)
    write_reports(results, args)
    return 0


def write_reports(results: list, args) -> None:
    if len(results) == 1:
        print(render_submission(results[0]))
        if args.results:
            write_gradescope(results[0], args.results)
    else:
        out = Path(args.out or "autograder-results")
        out.mkdir(parents=True, exist_ok=True)
        for result in results:
            write_gradescope(result, out / f"{result.submission}.json")
        write_gradebook(results, out / "gradebook.csv")
        print(render_table(results))
        print(f"gradebook: {out / 'gradebook.csv'}; one results file per submission in {out}/")
    if args.junit:
        write_junit(results, args.junit)
    for result in results:
        for entry in result.staff_log:
            print(f"autograder: {result.submission}: {entry}", file=sys.stderr)


def grade_examples(args) -> int:
    """``autograder examples``: every family of bundled examples, each example against its expected grade."""
    from ..report.terminal import render_examples
    from .examples import differences, families

    warn_missing_protection(args.device)
    chosen = [f for f in families(Path(args.root)) if not args.family or f.folder.name in args.family]
    if not chosen:
        print(f"autograder examples: no folder with an expected.toml under {args.root}", file=sys.stderr)
        return 2
    rows, all_results = [], []
    total = sum(len(f.examples) for f in chosen)
    done = 0
    for family in chosen:
        for name, entry in family.examples.items():
            _progress(done, total, f"{family.folder.name}/{name}")
            result = grade(family.folder / name, assignment_id=family.assignment, data_dir=args.data_dir,
                           device=args.device)
            done += 1
            all_results.append(result)
            rows.append((family, name, result, differences(result, family, entry["fails"])))
    _progress(total, total, "")
    print(render_examples(rows))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_gradebook(all_results, out / "gradebook.csv")
    if args.junit:
        write_junit(all_results, args.junit)
    return 1 if any(problems for *_, problems in rows) else 0
