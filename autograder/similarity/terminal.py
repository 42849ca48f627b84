"""The similarity report as text for the terminal: the flagged pairs and what each has in common."""

from __future__ import annotations

from .batch import SimilarityReport

SHOWN_UNFLAGGED = 5  # the highest code scores of pairs not flagged, to show how far they are from a flag


def render_terminal(report: SimilarityReport) -> str:
    lines = [f"similarity: {len(report.submissions)} submissions"
             + (f" of {report.assignment}" if report.assignment else "")
             + f"; starter code removed: {', '.join(report.boilerplate) or 'none found'}"
             + f"; {report.common_removed:,} fingerprints shared by most of the batch removed as the handout's"]
    flagged = report.flagged
    if flagged:
        lines.append(f"{len(flagged)} pair(s) flagged for a person to look at (no grade is changed):")
    else:
        lines.append("no pair flagged")
    for pair in flagged:
        lines.append(f"  {pair.first} ~ {pair.second}: {', '.join(pair.kinds)}")
        lines.extend(f"      {finding.kind}: {finding.message}" for finding in pair.findings if finding.flagged)
    informed = [p for p in report.pairs if not p.flagged]
    if informed:
        lines.append(f"{len(informed)} pair(s) hold the reference solution's weights (not flagged)")
    flagged_names = {(p.first, p.second) for p in flagged}
    rest = [s for s in report.code_scores if (s[2], s[3]) not in flagged_names][:SHOWN_UNFLAGGED]
    if rest:
        lines.append("highest code scores not flagged: " + "; ".join(
            f"{a} ~ {b} {score:.2f} ({characters:,} characters)" for score, characters, a, b in rest))
    lines.extend(f"note: {note}" for note in report.notes)
    return "\n".join(lines)
