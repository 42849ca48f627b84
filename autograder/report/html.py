"""One submission's feedback as a self-contained HTML page: what to fix first, every check by problem, and the
figures measured while grading (held-out images and their reconstructions, 2-D codes, a confusion matrix,
first-layer filters, brief training against the reference's band), inline as PNG data URIs.

Rendered from the ``SubmissionResult`` alone: no student code runs, nothing is fetched (no script, no external
``src`` or ``href``). ``render_feedback_html(result)`` is the page; with ``standalone=False`` the same feedback
as a fragment, e.g. Gradescope's ``output`` with ``output_format: "html"`` (there, ``visible_only=True``).
"""

from __future__ import annotations

import html
import os
import traceback

from ..results import CheckResult, SubmissionResult
from .figures import data_uri, figure_png

STYLE = """
.ag-feedback { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; max-width: 62rem;
  margin: 1.5rem auto; padding: 0 1rem; line-height: 1.4; }
.ag-feedback h1 { font-size: 1.5rem; margin-bottom: .2rem; }
.ag-feedback h2 { font-size: 1.15rem; margin-top: 1.8rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.ag-feedback .summary { color: #444; margin-top: 0; }
.ag-feedback .score { font-size: 1.3rem; font-weight: 600; }
.ag-feedback .box { border-radius: 6px; padding: .6rem .9rem; margin: .8rem 0; }
.ag-feedback .fix { background: #fff4f2; border: 1px solid #f3c2b8; }
.ag-feedback .good { background: #f1faf2; border: 1px solid #b9e0bf; }
.ag-feedback .error { background: #fff4f2; border: 1px solid #d9534f; }
.ag-feedback .notes { background: #f5f7fb; border: 1px solid #d6dcea; }
.ag-feedback .fix li { margin-bottom: .5rem; }
.ag-feedback table { border-collapse: collapse; width: 100%; font-size: .92rem; }
.ag-feedback td { border-top: 1px solid #eee; padding: .35rem .4rem; vertical-align: top; }
.ag-feedback td.mark { width: 1.4rem; font-weight: 700; text-align: center; }
.ag-feedback td.points { width: 4.2rem; white-space: nowrap; text-align: right; }
.ag-feedback tr.passed td.mark { color: #2e7d32; }
.ag-feedback tr.failed td.mark { color: #c62828; }
.ag-feedback tr.not-gradable td.mark { color: #888; }
.ag-feedback .message { color: #555; font-size: .86rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.ag-feedback tr.failed .message { color: #8a1c1c; }
.ag-feedback .tag { font-size: .75rem; color: #666; border: 1px solid #ccc; border-radius: 3px; padding: 0 .25rem; }
.ag-feedback .figures { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; align-items: flex-start; }
.ag-feedback figure { margin: .8rem 0; }
.ag-feedback figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
.ag-feedback figcaption { font-size: .85rem; color: #444; }
"""

MARKS = {"passed": "✓", "failed": "✗", "not gradable": "–"}


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _points(value: float) -> str:
    return f"{value:g}"


def _shown(check: CheckResult, visible_only: bool) -> bool:
    return not visible_only or check.visibility == "visible"


def _check_row(check: CheckResult) -> str:
    status = check.status if check.gradable else "not gradable"
    tag = "" if check.visibility == "visible" else f" <span class='tag'>{_e(check.visibility)}</span>"
    return (f"<tr class='{status.replace(' ', '-')}'><td class='mark'>{MARKS.get(status, '?')}</td>"
            f"<td class='points'>{_points(check.points)}/{_points(check.max_points)}</td>"
            f"<td><div>{_e(check.title)}{tag}</div><div class='message'>{_e(check.feedback)}</div></td></tr>")


def _figure_html(figure: dict) -> str:
    try:
        png = figure_png(figure)
    except Exception:  # noqa: BLE001 - a figure that cannot be drawn leaves the rest of the page
        return (f"<p class='message'>(the figure &ldquo;{_e(figure.get('title', ''))}&rdquo; could not be drawn: "
                f"{_e(traceback.format_exc(limit=0).strip().splitlines()[-1])})</p>")
    if png is None:
        return ""
    title = _e(figure.get("title", ""))
    return (f"<figure class='{_e(figure.get('kind', ''))}'><img src='{data_uri(png)}' alt='{title}'>"
            f"<figcaption>{title}</figcaption></figure>")


def _to_fix(failed: list[CheckResult]) -> str:
    if not failed:
        return "<div class='box good'><strong>Every check passed.</strong></div>"
    items = "".join(f"<li><strong>{_e(c.title)}</strong> ({_points(c.max_points)} points, <code>{_e(c.check_id)}"
                    f"</code>)<div class='message'>{_e(c.feedback)}</div></li>" for c in failed)
    return f"<div class='box fix'><strong>To fix ({len(failed)})</strong><ul>{items}</ul></div>"


def _problems(result: SubmissionResult, checks: list[CheckResult]) -> str:
    order = list(dict.fromkeys([c.problem for c in checks]))
    shown = set(order)
    figures = [f for f in result.figures if f.get("problem") in shown]
    parts = []
    for problem in order:
        rows = "".join(_check_row(c) for c in checks if c.problem == problem)
        drawn = "".join(_figure_html(f) for f in figures if f.get("problem") == problem)
        heading = f"Problem {problem}" if problem and problem[0].isdigit() else (problem or "General")
        drawn = f"<div class='figures'>{drawn}</div>" if drawn else ""
        parts.append(f"<section><h2>{_e(heading)}</h2><table>{rows}</table>{drawn}</section>")
    return "".join(parts)


def _summary(result: SubmissionResult, checks: list[CheckResult]) -> str:
    passed = sum(1 for c in checks if c.passed)
    gradable = [c for c in checks if c.gradable]
    score = sum(c.points for c in checks)
    most = sum(c.max_points for c in gradable)
    parts = [f"<span class='score'>{_points(round(score, 4))} / {_points(round(most, 4))} points</span>",
             f"{passed} of {len(checks)} checks passed"]
    if result.not_gradable_points and any(not c.gradable for c in checks):
        parts.append(f"{_points(sum(c.max_points for c in checks if not c.gradable))} points could not be graded "
                     "here (marked –) and are left out of the total")
    if result.manual:
        parts.append(f"{_points(result.manual_points)} more points are graded by hand")
    return "<p class='summary'>" + " &middot; ".join(parts) + "</p>"


def render_feedback_html(result: SubmissionResult, *, visible_only: bool = False, standalone: bool = True) -> str:
    """The feedback page of one graded submission. ``visible_only``: leave out the checks Gradescope would not
    show yet (hidden, after the due date, after publishing) and the figures of their problems only;
    ``standalone=False``: a fragment (a ``<div>`` with its own style) rather than a whole document."""
    head = (f"<h1>Feedback: {_e(result.submission)}</h1>"
            f"<p class='summary'>{_e(result.assignment or 'unknown assignment')}</p>"
            + (f"<div class='box error'><strong>Partial run.</strong> {_e(result.partial_note)}</div>"
               if result.selection else ""))
    if result.error:
        body = f"{head}<div class='box error'><strong>Not graded.</strong> {_e(result.error)}</div>"
    else:
        checks = [c for c in result.checks if _shown(c, visible_only)]
        notes = "".join(f"<li>{_e(n)}</li>" for n in result.notes)
        manual = "".join(f"<li>{_e(p['problem'])} {_e(p.get('title', ''))} ({_points(p['points'])} "
                         f"point{'' if p['points'] == 1 else 's'})</li>" for p in result.manual)
        body = "".join([
            head, _summary(result, checks), _to_fix([c for c in checks if not c.passed and c.gradable]),
            f"<div class='box notes'><strong>Notes</strong><ul>{notes}</ul></div>" if notes else "",
            _problems(result, checks),
            f"<section><h2>Graded by hand</h2><ul>{manual}</ul></section>" if manual else "",
        ])  # fmt: skip
    fragment = f"<div class='ag-feedback'><style>{STYLE}</style>{body}</div>"
    if not standalone:
        return fragment
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>{CSP_META}<title>Feedback: "
            f"{_e(result.submission)}</title></head><body>{fragment}</body></html>")


# Every page the project writes forbids scripts, frames, forms and anything fetched: images only inline (data:),
# styles only its own inline ones. A payload that got past the escaping still could not run.
CSP_META = ("<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'\">")


def write_feedback_html(result: SubmissionResult, path) -> None:
    """The page, written whole or not at all."""
    partial = f"{os.fspath(path)}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(render_feedback_html(result))
    os.replace(partial, path)
