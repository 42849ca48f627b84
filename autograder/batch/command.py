"""`autograder grade PATH...` and `autograder examples`: find the submissions, grade each, write the reports,
print the table."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..devices import choose_device
from ..grading import resources
from ..report.gradebook import write_gradebook
from ..report.junit import write_junit
from ..results import submission_name
from .find import expand
from .options import BatchOptions, ExamplesOptions
from .records import ResultStore
from .reports import DEFAULT_OUT, class_page, render_summary, similarity_section, write_reports
from .run import grade_many


def warn_missing_protection(device: str) -> None:
    """Say once, before grading, which protections this machine cannot give the worker; stop (exit 2) where
    student code would run as root with no sandbox."""
    from ..host.sandbox import describe_protection, refusal

    if (why := refusal()) is not None:
        print(f"autograder: {why}", file=sys.stderr)
        raise SystemExit(2)
    for line in describe_protection(str(choose_device(device))):
        print(f"autograder: sandbox: {line}", file=sys.stderr)


class announcing:  # noqa: N801 - used as a statement: `with announcing():`
    """While grading one submission, each long stage is said on stderr as it starts ("running hw.ipynb",
    "training AE (300 steps of 64)"), so that minutes of work never look like a hang."""

    def __enter__(self):
        from ..grading import link

        self.started = time.monotonic()
        link.announce = lambda what: print(f"autograder: [{time.monotonic() - self.started:5.1f} s] {what}",
                                           file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc):
        from ..grading import link

        link.announce = None
        return False


def grade_paths(options: BatchOptions) -> int:
    grading, reports = options.grading, options.reports
    warn_missing_protection(grading.device)
    submissions = expand(list(options.paths))
    if not submissions:
        print("autograder grade: no submissions found in " + ", ".join(options.paths), file=sys.stderr)
        return 2
    if len(submissions) == 1 and not reports.out:
        with announcing():
            write_reports(grade_many(submissions, **grading.engine()), reports)
        return 0
    out = Path(reports.out or DEFAULT_OUT)
    jobs = options.jobs or resources.default_jobs(str(choose_device(grading.device)))
    names = [submission_name(p) for p in submissions]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        print(f"autograder grade: several submissions are named {', '.join(twice)}; give them distinct names",
              file=sys.stderr)
        return 2
    started, kept = time.monotonic(), []
    results = grade_many(submissions, jobs=jobs, out=out, force=options.force, progress=True,
                         executor=options.executor, address=options.address, kept=kept, **grading.engine())
    everything = ResultStore(out).all_results()  # this run's and earlier runs' (read once)
    write_reports(results, reports, out=out, everything=everything)
    now = [r for path, r in zip(submissions, results, strict=True) if path not in kept]
    print(render_summary(now, len(kept), time.monotonic() - started, jobs), file=sys.stderr)
    report = None
    if reports.similarity:
        text, report = similarity_section(submissions, out, grading.assignment)
        print(text)
    print(class_page(everything, out, report))
    return 0


def grade_examples(options: ExamplesOptions) -> int:
    """``autograder examples``: every family of bundled examples, each example against its expected grade."""
    from ..grading.examples import differences, families
    from ..report.terminal import render_examples

    warn_missing_protection(options.device)
    chosen = [f for f in families(Path(options.root))
              if not options.families or f.folder.name in options.families]
    if not chosen:
        print(f"autograder examples: no folder with an expected.toml under {options.root}", file=sys.stderr)
        return 2
    examples = [(family, name, entry) for family in chosen for name, entry in family.examples.items()]
    paths = [family.folder / name for family, name, _ in examples]
    jobs = options.jobs or resources.default_jobs(str(choose_device(options.device)))
    all_results = grade_many(paths, jobs=jobs, progress=True, data_dir=options.data_dir, device=options.device,
                             per_submission={path: {"assignment_id": family.assignment}
                                             for path, (family, *_) in zip(paths, examples, strict=True)})
    rows = [(family, name, result, differences(result, family, entry["fails"]))
            for (family, name, entry), result in zip(examples, all_results, strict=True)]
    print(render_examples(rows))
    if options.out:
        out = Path(options.out)
        out.mkdir(parents=True, exist_ok=True)
        write_gradebook(all_results, out / "gradebook.csv")
    if options.junit:
        write_junit(all_results, options.junit)
    return 1 if any(problems for *_, problems in rows) else 0
