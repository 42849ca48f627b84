"""What a batch writes once it is graded, each file by one function: the terminal's report or table, the
Gradescope results, the gradebooks, the feedback pages, JUnit, the similarity section and the class page. A
report that fails costs that report only: the grades and every other file are written."""

from __future__ import annotations

import sys
from pathlib import Path

from ..common.protocol import safe_text
from ..report.gradebook import write_gradebook
from ..report.gradescope import write_gradescope
from ..report.junit import write_junit
from ..report.terminal import render_submission, render_table
from ..results import SubmissionResult
from .options import ReportOptions

DEFAULT_OUT = "autograder-results"


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


def write_reports(results: list, options: ReportOptions, out: Path | None = None,
                  everything: list | None = None) -> None:
    """One submission: its report on the terminal (and Gradescope's file with ``--results``, its feedback page
    with ``--html``). Many: the table, the gradebook of every result in ``out`` (this batch's and earlier ones'),
    and each submission's feedback page beside its results file."""
    if len(results) == 1 and out is None:
        print(render_submission(results[0]))
        if options.profile:
            print(render_profile(results[0]))
        if options.results:
            write_gradescope(results[0], options.results)
        if options.html:
            from ..report.html import write_feedback_html

            write_feedback_html(results[0], options.html)
    else:
        out = Path(out or options.out or DEFAULT_OUT)
        out.mkdir(parents=True, exist_ok=True)
        if everything is None:
            for result in results:
                write_gradescope(result, out / f"{result.submission}.json")
        graded = everything or results
        # a partial run's scores are not the submissions': no Canvas file to upload unless asked for
        canvas = not any(r.selection for r in graded) or options.canvas
        write_gradebook(graded, out / "gradebook.csv", canvas=canvas)
        write_feedback_pages(results, out)
        print(render_table(results))
        for_canvas = f"for Canvas: {out / 'gradebook-canvas.csv'}" if canvas else \
            "no Canvas file for a partial run: --canvas writes one"
        print(f"gradebook: {out / 'gradebook.csv'} ({for_canvas}); per submission in {out}/: its Gradescope results "
              "(.json) and feedback page (.html)")
    if options.junit:
        write_junit(results, options.junit)
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
