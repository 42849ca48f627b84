"""Plain-text reports for a terminal: one submission in detail, many as a table."""

from __future__ import annotations

import textwrap

from ..common.protocol import safe_text
from ..results import SubmissionResult


def _points(value: float) -> str:
    return f"{value:g}"


def _counted(value: float) -> str:
    """"1 point", "2 points", "0.5 points"."""
    return f"{_points(value)} point{'' if value == 1 else 's'}"


def render_submission(result: SubmissionResult, *, width: int = 100) -> str:
    return _safe(_render_submission(result, width=width))


def _safe(text: str) -> str:
    """What reaches the terminal: nothing a student wrote (a file name, a message) can move the cursor, clear
    the screen or rewrite a line."""
    return "\n".join(safe_text(line) for line in text.split("\n"))


def _render_submission(result: SubmissionResult, *, width: int = 100) -> str:
    head = f"{result.submission}  [{result.assignment or 'unknown assignment'}]"
    if result.error:
        return f"{head}\n  could not be graded: {result.error}\n"
    lines = [f"{head}  {_points(result.score)}/{_points(result.max_score)} points  "
             f"({result.seconds:.1f} s on {result.device})", *([f"  {result.partial_note}"] if result.selection
                                                                else []), ""]
    for check in result.checks:
        mark = "✓" if check.passed else ("–" if not check.gradable else "✗")
        lines.append(f"  {mark} {_points(check.points):>3}/{_points(check.max_points):<3} {check.title}")
        if not check.passed:
            lines.extend(textwrap.wrap(check.feedback, width=width, initial_indent=" " * 12,
                                       subsequent_indent=" " * 12))
    if result.not_gradable_points:
        lines += ["", f"  Not gradable here: {_counted(result.not_gradable_points)} (marked –), left out of "
                      "the total; each says what it needs (data this machine lacks, thresholds not calibrated yet)."]
    if result.manual:
        parts = ", ".join(f"{p['problem']} ({_points(p['points'])})" for p in result.manual)
        lines += ["", f"  Graded by hand: {_counted(result.manual_points)}, not in this total: {parts}."]
    if result.notes:
        lines += ["", "  Notes:"]
        for note in result.notes:
            lines.extend(textwrap.wrap(note, width=width, initial_indent="    - ", subsequent_indent="      "))
    return "\n".join(lines) + "\n"


def render_table(results: list[SubmissionResult]) -> str:
    return _safe(_render_table(results))


def _render_table(results: list[SubmissionResult]) -> str:
    name_width = max([len(r.submission) for r in results] + [10])
    lines = [f"{'submission':<{name_width}}  {'score':>11}  {'failed checks':<40}  time"]
    for r in results:
        if r.error:
            failed = f"not graded: {r.error}"[:60]
            score = "-"
        else:
            names = [c.check_id for c in r.failed()]
            failed = ", ".join(names) if names else "-"
            failed = failed if len(failed) <= 40 else f"{len(names)} checks"
            score = f"{_points(r.score)}/{_points(r.max_score)}"
        lines.append(f"{r.submission:<{name_width}}  {score:>11}  {failed:<40}  {r.seconds:5.1f} s")
    lines += list(dict.fromkeys(r.partial_note for r in results if r.selection))  # each selection once
    return "\n".join(lines) + "\n"


def render_examples(rows) -> str:
    """One line per bundled example: its score, and whether it is the grade its expected.toml gives."""
    lines = []
    family = None
    for current, name, result, problems in rows:
        if current is not family:
            family = current
            lines += ["", f"{family.folder.name} ({family.assignment}, {_counted(family.max_score)})"]
        score = f"{_points(result.score)}/{_points(result.max_score)}" if not result.error else "-"
        if result.not_gradable_points:
            score += f" (+{_points(result.not_gradable_points)} not gradable here)"
        mark = "✓ as expected" if not problems else "✗ " + "; ".join(problems)[:300]
        lines.append(f"  {name:<32} {score:>26}  {result.seconds:5.1f} s  {mark}")
    bad = sum(1 for *_, problems in rows if problems)
    lines += ["", f"{len(rows) - bad} of {len(rows)} examples got their expected grade"]
    return "\n".join(lines) + "\n"


def render_check_summary(result: SubmissionResult, instructor: list[tuple[str, float]]) -> str:
    """The last line of a student's ``autograder check``: the points checked here that passed, and the points
    the instructor's grading adds (``instructor``: kind, points). Never "all passed" while any remain."""
    line = f"{_points(result.score)} of {_counted(result.max_score)} checked here passed"
    if result.not_gradable_points:
        line += f" ({_points(result.not_gradable_points)} more could not be checked on this machine)"
    remaining = sum(points for _, points in instructor)
    if remaining:
        kinds = ", ".join(f"{_points(points)} for {kind}" for kind, points in instructor)
        line += f"; {_counted(remaining)} {'is' if remaining == 1 else 'are'} graded by the instructor ({kinds})"
    else:
        line += "; the instructor's grading adds no other points"
    return line + ".\n"
