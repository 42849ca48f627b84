"""The similarity report as one self-contained HTML page: no scripts, no outside resources, every text escaped.

Each flagged pair gets its findings and, where their code is alike, the two submissions' code side by side
with the passages they share highlighted (as copydetect's own report does).
"""

from __future__ import annotations

import html

from ..report.html import CSP_META
from . import thresholds as t
from .batch import Pair, SimilarityReport

SHOWN_UNFLAGGED = 20  # rows of the table of the highest code scores that were not flagged

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
.note { color: #555; } .kind { font-weight: bold; }
.sides { display: flex; gap: 1em; } .side { flex: 1; min-width: 0; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: .5em; max-height: 40em; overflow: auto;
      font-size: 85%; white-space: pre; }
mark { background: #ffd27a; }
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def highlighted(document: str, spans: list[tuple[int, int]]) -> str:
    """``document`` escaped, with ``spans`` (start, end) marked; overlapping spans are merged."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(document), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out.append(_e(document[at:start]))
        out.append(f"<mark>{_e(document[start:end])}</mark>")
        at = end
    out.append(_e(document[at:]))
    return "".join(out)


def _pair_section(index: int, pair: Pair, report: SimilarityReport) -> str:
    parts = [f"<h2 id='pair-{index}'>{index}. {_e(pair.first)} ~ {_e(pair.second)}</h2><ul>"]
    parts += [f"<li><span class='kind'>{_e(f.kind)}</span>: {_e(f.message)}</li>" for f in pair.findings]
    parts.append("</ul>")
    if pair.code is not None and "code" in pair.kinds:
        sides = []
        for name, spans, share in zip((pair.first, pair.second), pair.code.slices, pair.code.similarity,
                                      strict=True):
            sides.append(f"<div class='side'><h3>{_e(name)} ({share:.0%} of its own code)</h3>"
                         f"<pre>{highlighted(report.documents[name], spans)}</pre></div>")
        parts.append(f"<div class='sides'>{''.join(sides)}</div>")
    return "".join(parts)


def render_html(report: SimilarityReport) -> str:
    flagged = report.flagged
    body = [f"<h1>Similarity of {len(report.submissions)} submissions"
            f"{' of ' + _e(report.assignment) if report.assignment else ''}</h1>",
            "<p>Pairs flagged here are for a person to look at: this report never changes a grade.</p>",
            f"<p class='note'>Code is compared with copydetect, up to names, comments and order, once the starter "
            f"code ({_e(', '.join(report.boilerplate) or 'none found')}) and the code more than "
            f"{t.COMMON_SHARE:.0%} of the batch shares ({report.common_removed:,} fingerprints) are removed; flagged "
            f"from {t.CODE_SIMILARITY:.0%} of one side's own code and {t.CODE_MIN_CHARACTERS:,} characters in "
            f"common. Weight files: flagged from a cosine of {t.WEIGHT_COSINE} between the tensors they share "
            f"(same names and shapes, {t.WEIGHT_MIN_COVERAGE:.0%} of their values or more), unless both are the "
            "reference solution's. Structure: the same tensor names and shapes, not the reference's, held by "
            "hardly anyone else.</p>"]
    if flagged:
        rows = "".join(f"<tr><td><a href='#pair-{i}'>{_e(p.first)} ~ {_e(p.second)}</a></td>"
                       f"<td>{_e(', '.join(p.kinds))}</td>"
                       f"<td>{max(f.score for f in p.findings if f.flagged):.2f}</td></tr>"
                       for i, p in enumerate(flagged, 1))
        body.append(f"<h2>{len(flagged)} flagged pair(s)</h2><table><tr><th>pair</th><th>what</th>"
                    f"<th>score</th></tr>{rows}</table>")
        body += [_pair_section(i, p, report) for i, p in enumerate(flagged, 1)]
    else:
        body.append("<h2>No pair flagged</h2>")
    informed = [p for p in report.pairs if not p.flagged]
    if informed:
        items = "".join(f"<li>{_e(f.message)}</li>" for p in informed for f in p.findings)
        body.append(f"<h2>Not flagged: the reference solution's weights</h2><ul>{items}</ul>")
    flagged_names = {(p.first, p.second) for p in flagged}
    rest = [s for s in report.code_scores if (s[2], s[3]) not in flagged_names][:SHOWN_UNFLAGGED]
    if rest:
        rows = "".join(f"<tr><td>{_e(a)} ~ {_e(b)}</td><td>{score:.2f}</td><td>{characters:,}</td></tr>"
                       for score, characters, a, b in rest)
        body.append("<h2>Highest code scores not flagged</h2><table><tr><th>pair</th><th>score</th>"
                    f"<th>characters in common</th></tr>{rows}</table>")
    if report.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{_e(n)}</li>" for n in report.notes) + "</ul>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'>{CSP_META}<title>Similarity report</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")
