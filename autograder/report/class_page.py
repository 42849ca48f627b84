"""The instructor's view of a graded class: ``index.html`` beside the results, what to open first.

One self-contained page (no script, nothing fetched: the same Content-Security-Policy as the feedback pages):
the score distribution, each check's pass rate across the class (most failed first, with a failing message),
the checks this machine could not grade and why, the slowest submissions, the similarity flags, and a row per
submission linking to its feedback page. Rendered from the results alone.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter, defaultdict
from urllib.parse import quote

from ..results import SubmissionResult
from .figures import _figure, _png, data_uri
from .html import CSP_META, STYLE, _e, _points

SLOWEST = 5
CLASS_STYLE = """
.ag-feedback td.rate { width: 9rem; white-space: nowrap; }
.ag-feedback .bar { display: inline-block; height: .7rem; background: #c62828; vertical-align: middle; }
.ag-feedback .bar.ok { background: #2e7d32; }
"""


def score_histogram(results: list[SubmissionResult]) -> str:
    """The scores' distribution as an inline PNG (<img>), as a share of each submission's maximum."""
    shares = [100 * r.score / r.max_score for r in results if not r.error and r.max_score]
    if not shares:
        return "<p>No submission was graded.</p>"
    figure = _figure(6.0, 2.4)
    axis = figure.add_subplot()
    axis.hist(shares, bins=range(0, 105, 5), color="#4a6fa5", edgecolor="white")
    axis.set_xlabel("score (% of the points graded here)")
    axis.set_ylabel("submissions")
    axis.set_xlim(0, 100)
    from matplotlib.ticker import MaxNLocator

    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    return (f"<figure><img alt='histogram of the scores' src='{data_uri(_png(figure))}'>"
            f"<figcaption>{len(shares)} graded: median {statistics.median(shares):.0f}%, mean "
            f"{statistics.fmean(shares):.0f}%</figcaption></figure>")


def check_rates(results: list[SubmissionResult]) -> list[dict]:
    """Per check: how many passed, failed, were not gradable, and the most common failing message; most failed
    first."""
    rows: dict[str, dict] = {}
    messages: dict[str, Counter] = defaultdict(Counter)
    for result in results:
        for check in result.checks:
            row = rows.setdefault(check.check_id, {"check": check.check_id, "title": check.title, "passed": 0,
                                                   "failed": 0, "not gradable": 0})
            status = "not gradable" if not check.gradable else "passed" if check.passed else "failed"
            row[status] += 1
            if status == "failed":
                messages[check.check_id][check.feedback[:300]] += 1
    for check_id, row in rows.items():
        row["message"] = messages[check_id].most_common(1)[0][0] if messages[check_id] else ""
    return sorted(rows.values(), key=lambda r: (-r["failed"], r["check"]))


def _rates_table(rows: list[dict]) -> str:
    body = []
    for row in rows:
        graded = row["passed"] + row["failed"]
        share = row["passed"] / graded if graded else 1.0
        bar = f"<span class='bar ok' style='width:{share * 5:.2f}rem'></span><span class='bar' " \
              f"style='width:{(1 - share) * 5:.2f}rem'></span>" if graded else ""
        rate = f"{bar} {row['passed']}/{graded}" if graded else "– not gradable"
        body.append(f"<tr><td class='rate'>{rate}</td><td>{_e(row['check'])}<br>"
                    f"<span class='message'>{_e(row['title'])}</span></td><td class='message'>"
                    f"{_e(row['message'])}</td></tr>")
    return ("<table><tr><th>passed</th><th>check</th><th>a failing message (the most common)</th></tr>"
            + "".join(body) + "</table>")


def _not_gradable(results: list[SubmissionResult]) -> str:
    why: dict[str, Counter] = defaultdict(Counter)
    for result in results:
        for check in result.not_gradable():
            why[check.check_id][check.feedback[:300]] += 1
    if not why:
        return "<p>Every check was graded.</p>"
    items = "".join(f"<li>{_e(check_id)} ({sum(c.values())} submission(s)): {_e(c.most_common(1)[0][0])}</li>"
                    for check_id, c in sorted(why.items()))
    return f"<ul>{items}</ul>"


def _slowest(results: list[SubmissionResult]) -> str:
    slow = sorted(results, key=lambda r: -r.seconds)[:SLOWEST]
    return "<ol>" + "".join(f"<li>{_e(r.submission)}: {r.seconds:.0f} s</li>" for r in slow) + "</ol>"


def _similarity(report) -> str:
    if report is None:
        return "<p>Not compared in this run (<code>autograder similarity</code> compares them).</p>"
    flagged = report.flagged
    if not flagged:
        return f"<p>No pair of the {len(report.submissions)} submissions was flagged.</p>"
    items = "".join(f"<li>{_e(p.first)} and {_e(p.second)}: {_e(', '.join(p.kinds))}</li>" for p in flagged)
    return (f"<p>{len(flagged)} pair(s) flagged, to be looked at (a flag never changes a grade); side by side in "
            f"<a href='similarity.html'>similarity.html</a>.</p><ul>{items}</ul>")


def _students(results: list[SubmissionResult], pages: set[str]) -> str:
    rows = []
    for r in sorted(results, key=lambda r: r.submission.lower()):
        page = f"{r.submission}.html"
        name = f"<a href='{quote(page)}'>{_e(r.submission)}</a>" if page in pages else _e(r.submission)
        score = "not graded" if r.error else f"{_points(r.score)}/{_points(r.max_score)}"
        failed = _e(r.error) if r.error else _e(", ".join(c.check_id for c in r.failed()) or "-")
        rows.append(f"<tr><td>{name}</td><td class='points'>{score}</td><td class='message'>{failed}</td>"
                    f"<td class='points'>{r.seconds:.0f} s</td></tr>")
    return ("<table><tr><th>submission</th><th>score</th><th>failed checks</th><th>time</th></tr>" + "".join(rows)
            + "</table>")


def render_class_page(results: list[SubmissionResult], similarity=None, pages: set[str] = frozenset()) -> str:
    """The page; ``pages``: the feedback pages beside it (a row links to its submission's), ``similarity``: the
    batch's ``SimilarityReport`` or None."""
    assignments = ", ".join(sorted({r.assignment for r in results if r.assignment})) or "unknown assignment"
    graded = [r for r in results if not r.error]
    banner = "".join(f"<div class='box error'><strong>Partial run.</strong> {_e(note)}</div>"
                     for note in dict.fromkeys(r.partial_note for r in results if r.selection))
    body = "".join([
        f"<h1>Class: {_e(assignments)}</h1>",
        f"<p class='summary'>{len(results)} submission(s), {len(graded)} graded, {len(results) - len(graded)} "
        "could not be graded</p>", banner,
        "<section><h2>Scores</h2>", score_histogram(graded), "</section>",
        "<section><h2>Checks, most failed first</h2>", _rates_table(check_rates(graded)), "</section>",
        "<section><h2>Not gradable here</h2>", _not_gradable(graded), "</section>",
        "<section><h2>Similar submissions</h2>", _similarity(similarity), "</section>",
        "<section><h2>Slowest</h2>", _slowest(results), "</section>",
        "<section><h2>Every submission</h2>", _students(results, set(pages)), "</section>",
    ])  # fmt: skip
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{CSP_META}<title>Class: {_e(assignments)}"
            f"</title></head><body><div class='ag-feedback'><style>{STYLE}{CLASS_STYLE}</style>{body}</div>"
            "</body></html>")


def write_class_page(results: list[SubmissionResult], out, similarity=None) -> str:
    """``index.html`` in ``out``, written whole or not at all; its path."""
    pages = {name for name in os.listdir(out) if name.endswith(".html")}
    path = os.path.join(out, "index.html")
    with open(f"{path}.partial", "w", encoding="utf-8") as f:
        f.write(render_class_page(results, similarity, pages))
    os.replace(f"{path}.partial", path)
    return path
