"""`autograder grade PATH...`: find the submissions, grade each, write the reports, print the table."""

from __future__ import annotations

import concurrent.futures
import os
import queue
import sys
import time
from pathlib import Path

from tqdm import tqdm

from ..common.protocol import safe_text
from ..devices import choose_device
from ..host.warm import WarmWorkers
from ..report.gradebook import write_gradebook
from ..report.gradescope import write_gradescope
from ..report.junit import write_junit
from ..report.terminal import render_submission, render_table
from ..results import SubmissionResult, submission_name
from ..submission import CLUTTER, STUDENT_SUFFIXES
from . import resources
from .records import ResultStore, fingerprint
from .runner import grade_safely

WARM_ENV = "AUTOGRADER_WARM"  # "0": every worker starts cold (no warm templates)


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
                                and (c.is_dir() or c.suffix.lower() == ".zip" or c.is_symlink())))
        else:
            found.append(path)
    return found


def warn_missing_protection(device: str) -> None:
    """Say once, before grading, which protections this machine cannot give the worker; stop (exit 2) where
    student code would run as root with no sandbox."""
    from ..host.sandbox import describe_protection, refusal

    if (why := refusal()) is not None:
        print(f"autograder: {why}", file=sys.stderr)
        raise SystemExit(2)
    for line in describe_protection(str(choose_device(device))):
        print(f"autograder: sandbox: {line}", file=sys.stderr)


def grade_many(submissions: list[Path], *, jobs: int = 1, out=None, force: bool = False, progress: bool = False,
               executor: str = "local", address: str | None = None, per_submission: dict | None = None,
               kept: list | None = None, **options) -> list[SubmissionResult]:
    """Grade every submission, ``jobs`` at a time, each in its own sandboxed worker with its share of the machine;
    one that cannot be graded, hangs, crashes or attacks never stops the batch.

    With ``out``, each result is written there as soon as it is graded, and one already graded from the same
    files with the same options is read back instead of graded again (unless ``force``). ``per_submission`` gives
    options of single submissions (path -> {"assignment_id": ...}); ``kept`` receives the submissions read back.
    """
    per_submission = per_submission or {}
    store = ResultStore(out) if out is not None else None
    stamps = {path: fingerprint(path, {**options, **per_submission.get(path, {})})
              for path in submissions} if store else {}
    results: dict[Path, SubmissionResult] = {}
    if store and not force:
        for path in submissions:
            if (earlier := store.load(submission_name(path), stamps[path])) is not None:
                results[path] = earlier
    todo = [path for path in submissions if path not in results]
    if kept is not None:
        kept.extend(results)
    bar = tqdm(total=len(submissions), initial=len(results), unit="submission", disable=not progress or None,
               file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    lines = progress and bar.disable  # no terminal (a CI log, a file): a line per submission instead of a bar
    if lines:
        print(f"autograder: grading {len(todo)} submission(s), {jobs} at a time"
              + (f" ({len(results)} already graded)" if results else ""), file=sys.stderr, flush=True)
    with bar:
        for path, result in _run(todo, jobs, executor, address, options, per_submission):
            if lines:
                done = len(results) + 1
                score = f"{result.score:g}/{result.max_score:g}" if not result.error else "not graded"
                print(f"autograder: [{done}/{len(submissions)}] {result.submission}: {score} ({result.seconds:.0f} s)",
                      file=sys.stderr, flush=True)
            if store:
                for failure in store.save(result, stamps[path]):
                    result.staff_log.append(failure)
                    print(f"autograder: {safe_text(failure)}", file=sys.stderr)
            results[path] = result
            bar.set_postfix_str(submission_name(path)[:30], refresh=False)
            bar.update()
    return [results[path] for path in submissions]


def _run(todo: list[Path], jobs: int, executor: str, address: str | None, options: dict, per_submission: dict):
    """(path, result) pairs as they finish."""
    if executor == "ray":
        from .ray_executor import grade_on_ray

        yield from grade_on_ray(todo, jobs=jobs, address=address, options=options, per_submission=per_submission)
        return
    device = str(choose_device(options.get("device", "auto")))
    share = resources.share(min(jobs, max(1, len(todo))), device)
    slots: queue.SimpleQueue[int] = queue.SimpleQueue()
    for slot in range(share.jobs):
        slots.put(slot)

    # Several submissions: each slot's workers are forked from a warm template (where the sandbox allows it).
    warm = WarmWorkers() if len(todo) > 1 and os.environ.get(WARM_ENV, "1") != "0" else None

    def one(path: Path) -> SubmissionResult:
        slot = slots.get()
        try:
            return grade_safely(path, share=share.for_slot(slot), warm=warm,
                                **{**options, **per_submission.get(path, {})})
        finally:
            slots.put(slot)

    try:
        if share.jobs == 1:
            for path in todo:
                yield path, one(path)
            return
        with concurrent.futures.ThreadPoolExecutor(share.jobs, thread_name_prefix="autograder-job") as pool:
            futures = {pool.submit(one, path): path for path in todo}
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], future.result()
    finally:
        if warm is not None:
            warm.close()


class announcing:  # noqa: N801 - used as a statement: `with announcing():`
    """While grading one submission, each long stage is said on stderr as it starts ("running hw.ipynb",
    "training AE (300 steps of 64)"), so that minutes of work never look like a hang."""

    def __enter__(self):
        from . import link

        self.started = time.monotonic()
        link.announce = lambda what: print(f"autograder: [{time.monotonic() - self.started:5.1f} s] {what}",
                                           file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc):
        from . import link

        link.announce = None
        return False


def grade_paths(args) -> int:
    warn_missing_protection(args.device)
    submissions = expand(args.paths)
    if not submissions:
        print("autograder grade: no submissions found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    options = dict(assignment_id=args.assignment, data_dir=args.data_dir, device=args.device, keyword=args.keyword)
    if len(submissions) == 1 and not args.out:
        with announcing():
            write_reports(grade_many(submissions, **options), args)
        return 0
    out = Path(args.out or "autograder-results")
    jobs = args.jobs or resources.default_jobs(str(choose_device(args.device)))
    names = [submission_name(p) for p in submissions]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        print(f"autograder grade: several submissions are named {', '.join(twice)}; give them distinct names",
              file=sys.stderr)
        return 2
    started, kept = time.monotonic(), []
    results = grade_many(submissions, jobs=jobs, out=out, force=args.force, progress=True, executor=args.executor,
                         address=args.address, kept=kept, **options)
    everything = ResultStore(out).all_results()  # this run's and earlier runs' (read once)
    write_reports(results, args, out=out, everything=everything)
    now = [r for path, r in zip(submissions, results, strict=True) if path not in kept]
    print(render_summary(now, len(kept), time.monotonic() - started, jobs), file=sys.stderr)
    report = None
    if not getattr(args, "no_similarity", False):
        text, report = similarity_section(submissions, out, args.assignment)
        print(text)
    print(class_page(everything, out, report))
    return 0


def class_page(results: list, out: Path, similarity) -> str:
    """``index.html``: the class at a glance, what an instructor opens first; a failure costs only the page."""
    from ..report.class_page import write_class_page

    try:
        return f"the class at a glance: {write_class_page(results, out, similarity)}"
    except Exception as error:  # noqa: BLE001 - the grades and every other report are written
        return f"autograder: the class page could not be written ({type(error).__name__}); the grades stand"


def render_profile(result) -> str:
    """Where the grading's seconds went, slowest first: wall clock, the worker's CPU time, the grader's."""
    rows = sorted(result.profile.items(), key=lambda item: -item[1].get("wall", 0.0))
    width = min(80, max((len(label) for label, _ in rows), default=10))
    lines = [f"\n  Profile ({result.seconds:.1f} s in all; worker: " + ", ".join(
        f"{k} {v}" for k, v in result.worker.items()) + ")",
             f"  {'stage':<{width}}  {'wall s':>8}  {'worker CPU s':>12}  {'grader CPU s':>12}  {'calls':>5}"]
    for label, entry in rows:
        grader = entry.get("grader_cpu")
        lines.append(f"  {label[:width]:<{width}}  {entry.get('wall', 0):>8.2f}  {entry.get('worker_cpu', 0):>12.2f}"
                     f"  {'' if grader is None else f'{grader:.2f}':>12}  {entry.get('count', 1):>5}")
    return "\n".join(lines)


def similarity_section(submissions: list[Path], out: Path, assignment_id: str | None) -> tuple[str, object]:
    """The batch report's similarity section: the pairs flagged (``similarity.html`` in ``out`` shows them side
    by side), and the report (None where it failed). It flags, never changes a grade; should it fail, the grades
    stand and the section says why."""
    from ..similarity.batch import compare_batch
    from ..similarity.html import render_html
    from ..similarity.terminal import render_terminal

    try:
        report = compare_batch(submissions, assignment_id)
        (out / "similarity.html").write_text(render_html(report), encoding="utf-8")
    except Exception as error:  # noqa: BLE001 - the grades are written; this section is extra
        return f"similarity: not compared ({type(error).__name__}: {str(error)[:200]}); the grades stand", None
    return f"{render_terminal(report)}\nsimilarity report: {out / 'similarity.html'}", report


def write_reports(results: list, args, out: Path | None = None, everything: list | None = None) -> None:
    """One submission: its report on the terminal (and Gradescope's file with ``--results``, its feedback page
    with ``--html``). Many: the table, the gradebook of every result in ``out`` (this batch's and earlier ones'),
    and each submission's feedback page beside its results file."""
    if len(results) == 1 and out is None:
        print(render_submission(results[0]))
        if getattr(args, "profile", False):
            print(render_profile(results[0]))
        if args.results:
            write_gradescope(results[0], args.results)
        if getattr(args, "html", None):
            from ..report.html import write_feedback_html

            write_feedback_html(results[0], args.html)
    else:
        out = Path(out or args.out or "autograder-results")
        out.mkdir(parents=True, exist_ok=True)
        if everything is None:
            for result in results:
                write_gradescope(result, out / f"{result.submission}.json")
        graded = everything or results
        # a partial run's scores are not the submissions': no Canvas file to upload unless asked for
        canvas = not any(r.selection for r in graded) or getattr(args, "canvas", False)
        write_gradebook(graded, out / "gradebook.csv", canvas=canvas)
        write_feedback_pages(results, out)
        print(render_table(results))
        for_canvas = f"for Canvas: {out / 'gradebook-canvas.csv'}" if canvas else \
            "no Canvas file for a partial run: --canvas writes one"
        print(f"gradebook: {out / 'gradebook.csv'} ({for_canvas}); per submission in {out}/: its Gradescope results "
              "(.json) and feedback page (.html)")
    if args.junit:
        write_junit(results, args.junit)
    for result in results:
        for entry in result.staff_log:
            print(safe_text(f"autograder: {result.submission}: {entry}"), file=sys.stderr)


def write_feedback_pages(results: list, out: Path) -> None:
    """``<name>.html`` beside each ``<name>.json``, where the result store has not drawn it as the result came
    (``ResultStore.save``): drawn again only when older than the submission's record."""
    from ..report.html import write_feedback_html
    from .records import RECORDS

    for result in results:
        page, record = out / f"{result.submission}.html", out / RECORDS / f"{result.submission}.json"
        if page.is_file() and record.is_file() and page.stat().st_mtime >= record.stat().st_mtime:
            continue
        try:
            write_feedback_html(result, page)
        except Exception as error:  # noqa: BLE001 - one page never ends the batch's reports
            print(f"autograder: {safe_text(result.submission)}: its feedback page could not be written "
                  f"({type(error).__name__})", file=sys.stderr)


def render_summary(results: list[SubmissionResult], kept: int, seconds: float, jobs: int) -> str:
    """What was graded now (and what could not be, and why), the slowest, and the rate."""
    graded = [r for r in results if not r.error]
    lines = [f"graded {len(graded)} submission{'s' * (len(graded) != 1)} in {seconds:.0f} s, {jobs} at a time"
             + (f" ({seconds / len(results):.1f} s per submission)" if results else "")
             + (f"; {kept} kept from an earlier run (--force grades them again)" if kept else "")]
    lines += [f"  not graded: {r.submission}: {r.error}" for r in results if r.error]
    slowest = sorted(graded, key=lambda r: r.seconds, reverse=True)[:3]
    if slowest:
        lines.append("  slowest: " + ", ".join(f"{r.submission} {r.seconds:.0f} s" for r in slowest))
    return "\n".join(lines)


def grade_examples(args) -> int:
    """``autograder examples``: every family of bundled examples, each example against its expected grade."""
    from ..report.terminal import render_examples
    from .examples import differences, families

    warn_missing_protection(args.device)
    chosen = [f for f in families(Path(args.root)) if not args.family or f.folder.name in args.family]
    if not chosen:
        print(f"autograder examples: no folder with an expected.toml under {args.root}", file=sys.stderr)
        return 2
    examples = [(family, name, entry) for family in chosen for name, entry in family.examples.items()]
    paths = [family.folder / name for family, name, _ in examples]
    jobs = args.jobs or resources.default_jobs(str(choose_device(args.device)))
    all_results = grade_many(paths, jobs=jobs, progress=True, data_dir=args.data_dir, device=args.device,
                             per_submission={path: {"assignment_id": family.assignment}
                                             for path, (family, *_) in zip(paths, examples, strict=True)})
    rows = [(family, name, result, differences(result, family, entry["fails"]))
            for (family, name, entry), result in zip(examples, all_results, strict=True)]
    print(render_examples(rows))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_gradebook(all_results, out / "gradebook.csv")
    if args.junit:
        write_junit(all_results, args.junit)
    return 1 if any(problems for *_, problems in rows) else 0
