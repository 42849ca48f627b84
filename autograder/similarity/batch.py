"""Every pair of a batch of submissions compared: the results object the terminal and HTML renderers show.

Nothing here grades: a finding is for a person to look at.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..submission import SubmissionError, open_submission
from . import thresholds as t
from .code import CodeMatch, boilerplate_hashes, common_hashes, compare_code, fingerprint, without
from .collect import SubmissionCode, code_of_folder
from .structure import unusual_structures
from .weights import Budget, WeightFile, compare_weights, weight_files

FLAGGED_KINDS = ("code", "weights", "structure")
REFERENCE_WEIGHTS = "reference weights"  # both hold the reference solution's weights: said, never flagged


@dataclass(frozen=True)
class Finding:
    kind: str  # one of FLAGGED_KINDS, or REFERENCE_WEIGHTS
    score: float  # code: the larger side's share; weights: the cosine; structure: 1
    message: str
    files: tuple[str, str] = ()  # weights and structure: the file of each submission

    @property
    def flagged(self) -> bool:
        return self.kind in FLAGGED_KINDS


@dataclass
class Pair:
    first: str
    second: str
    findings: list[Finding] = field(default_factory=list)
    code: CodeMatch | None = None  # what their code shares, for the side-by-side view

    @property
    def flagged(self) -> bool:
        return any(f.flagged for f in self.findings)

    @property
    def kinds(self) -> list[str]:
        """The kinds flagged, each once, in the order of FLAGGED_KINDS."""
        return [kind for kind in FLAGGED_KINDS if any(f.kind == kind for f in self.findings)]


@dataclass
class SimilarityReport:
    assignment: str | None
    submissions: list[str]
    pairs: list[Pair]  # the pairs with a finding: flagged first, then by score
    documents: dict[str, str]  # each submission's code, as compared
    code_scores: list[tuple[float, int, str, str]]  # every pair: (score, characters, first, second), highest first
    boilerplate: list[str]  # where the starter code removed came from
    common_removed: int  # fingerprints taken for the handout's because most of the batch has them
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]


@dataclass
class _Taken:
    code: SubmissionCode
    weights: list[WeightFile]
    recognised: str | None


def _take(path: Path, name: str, notes: list[str], budget: Budget | None = None,
          submission_bytes: int | None = None) -> _Taken | None:
    """A submission's code and weights, read from a scratch copy (a zip unpacked with the grader's care)."""
    from ..grading.session import recognise_assignment

    with tempfile.TemporaryDirectory(prefix="autograder-similarity-") as scratch:
        try:
            submission = open_submission(path, Path(scratch))
        except SubmissionError as error:
            notes.append(f"{name}: left out, {error}")
            return None
        code = code_of_folder(submission.root, name)
        weights, weight_notes = weight_files(submission.root, budget, submission_bytes)
        try:
            recognised = recognise_assignment(submission)
        except SubmissionError:
            recognised = None
    notes.extend(f"{name}: {note}" for note in code.notes + weight_notes)
    return _Taken(code, weights, recognised)


def _names(paths: list[Path]) -> list[str]:
    """A distinct name per submission: its file or folder name, numbered where two are alike."""
    seen = Counter()
    names = []
    for path in paths:
        seen[path.name] += 1
        names.append(path.name if seen[path.name] == 1 else f"{path.name} ({seen[path.name]})")
    return names


def _assignment(assignment_id: str | None, taken: dict[str, _Taken], notes: list[str]):
    """The assignment named, or the one most of the batch is recognised as; only its paths are used (the starter
    and the reference solution), so its checks are not validated here."""
    from ..spec import SpecError, available_assignments, parse_assignment

    if assignment_id is None:
        votes = Counter(x.recognised for x in taken.values() if x.recognised)
        if not votes:
            notes.append("the assignment was not recognised (pass --assignment ID): no starter code or reference "
                         "weights were used")
            return None
        assignment_id = votes.most_common(1)[0][0]
    if assignment_id.endswith(".toml") and Path(assignment_id).is_file():
        return parse_assignment(Path(assignment_id))
    found = available_assignments()
    if assignment_id not in found:
        raise SpecError(f"unknown assignment '{assignment_id}'; known: {', '.join(found) or 'none'}")
    return parse_assignment(found[assignment_id])


def _starter_documents(assignment, starters: list[Path], notes: list[str]) -> tuple[list[str], list[str]]:
    """The starter code's documents, and where each came from (the assignment's starter, then ``starters``)."""
    folders = [Path(p) for p in starters]
    notes.extend(f"--starter {folder}: not found, left out" for folder in folders if not folder.exists())
    if assignment is not None and assignment.paths.get("starter") and assignment.paths["starter"].is_dir():
        folders.insert(0, assignment.paths["starter"])
    codes = [code_of_folder(folder, str(folder)) for folder in folders if folder.exists()]
    return ([c.document() for c in codes if c.parts],
            [f"{c.name} ({len(c.parts)} {'file' if len(c.parts) == 1 else 'files or cells'})" for c in codes
             if c.parts])


def _reference_weights(assignment) -> list[WeightFile]:
    if assignment is None or "solution" not in assignment.paths or not assignment.paths["solution"].is_dir():
        return []
    return weight_files(assignment.paths["solution"])[0]


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _code_finding(first: str, second: str, match: CodeMatch) -> Finding | None:
    if match.score < t.CODE_SIMILARITY or match.characters < t.CODE_MIN_CHARACTERS:
        return None
    return Finding("code", match.score,
                   f"{_percent(match.similarity[0])} of {first}'s own code and {_percent(match.similarity[1])} of "
                   f"{second}'s are the same, up to names, comments and order ({match.characters:,} characters of "
                   f"tokenized code in common; flagged from {_percent(t.CODE_SIMILARITY)} and "
                   f"{t.CODE_MIN_CHARACTERS:,})")


def _matching_reference(file: WeightFile, reference: list[WeightFile]) -> str | None:
    for ref in reference:
        match = compare_weights(file, ref)
        if match is not None and match.cosine >= t.WEIGHT_COSINE:
            return ref.origin
    return None


def _weight_findings(names: tuple[str, str], files: tuple[list[WeightFile], list[WeightFile]],
                     is_reference: dict[int, str | None]) -> list[Finding]:
    findings = []
    for a, b in itertools.product(*files):
        match = compare_weights(a, b)
        if match is None or match.cosine < t.WEIGHT_COSINE:
            continue
        where = (f"{a.origin} of {names[0]} and {b.origin} of {names[1]}: cosine {match.cosine:.6f} over "
                 f"{match.values:,} values")
        ref_a, ref_b = is_reference[id(a)], is_reference[id(b)]
        if ref_a and ref_a == ref_b:
            findings.append(Finding(REFERENCE_WEIGHTS, match.cosine,
                                    f"{where}; both are the reference solution's weights ({ref_a}), so this is "
                                    "not taken for a copy of each other", (a.origin, b.origin)))
        else:
            findings.append(Finding("weights", match.cosine,
                                    f"{where} (flagged from {t.WEIGHT_COSINE}): near-identical weights",
                                    (a.origin, b.origin)))
    return findings


def _structure_findings(names: tuple[str, str], files: tuple[list[WeightFile], list[WeightFile]],
                        unusual: dict[tuple, list[str]], said: set[tuple[str, str]]) -> list[Finding]:
    """Same unusual structure, for the files whose weights are not already the same (``said``)."""
    findings = []
    for signature, holders in unusual.items():
        if names[0] not in holders or names[1] not in holders:
            continue
        origins = tuple(next(f.origin for f in side if f.signature == signature) for side in files)
        if origins in said:
            continue
        values = sum(math.prod(shape) for _, shape in signature)
        others = (f"only {len(holders) - 2} other submission of the batch has them" if len(holders) > 2
                  else "no other submission of the batch has them")
        findings.append(Finding("structure", 1.0,
                                f"{origins[0]} of {names[0]} and {origins[1]} of {names[1]} have exactly the same "
                                f"tensors ({len(signature)} names and shapes, {values:,} values); their shapes are "
                                f"not the reference solution's and {others}", origins))
    return findings


def compare_batch(paths: list[Path], assignment_id: str | None = None, starters: list[Path] = (),
                  submission_bytes: int | None = None, batch_bytes: int | None = None) -> SimilarityReport:
    """Compare every pair of the submissions at ``paths`` (folders or zips), reading at most ``submission_bytes``
    of unpacked weight files of each and ``batch_bytes`` in all (default: ``weights.SUBMISSION_BYTES`` and
    ``weights.BATCH_BYTES``); the files past them are named in the notes."""
    notes: list[str] = []
    taken, budget = {}, Budget(batch_bytes)
    for path, name in zip(paths, _names(paths), strict=True):
        if (got := _take(Path(path), name, notes, budget, submission_bytes)) is not None:
            taken[name] = got
    assignment = _assignment(assignment_id, taken, notes)
    starter_documents, boilerplate = _starter_documents(assignment, starters, notes)
    starter_hashes = boilerplate_hashes(starter_documents)
    if not starter_documents and len(taken) < t.COMMON_MIN_SUBMISSIONS:
        notes.append(f"no starter code, and under {t.COMMON_MIN_SUBMISSIONS} submissions to tell the handout's code "
                     "by: code the handout gave counts as shared (pass --starter with the handout's code)")
    documents = {name: x.code.document() for name, x in taken.items()}
    raw = {name: without(fingerprint(document), starter_hashes) for name, document in documents.items()}
    common = common_hashes(list(raw.values()), t.COMMON_SHARE, t.COMMON_MIN_SUBMISSIONS)
    prints = {name: without(found, common) for name, found in raw.items()}
    reference = _reference_weights(assignment)
    is_reference = {id(f): _matching_reference(f, reference) for x in taken.values() for f in x.weights}
    unusual = unusual_structures({name: x.weights for name, x in taken.items()}, reference)

    pairs, scores = [], []
    for first, second in itertools.combinations(taken, 2):
        match = compare_code(prints[first], prints[second])
        scores.append((match.score, match.characters, first, second))
        names, files = (first, second), (taken[first].weights, taken[second].weights)
        findings = [f for f in [_code_finding(first, second, match)] if f]
        findings += _weight_findings(names, files, is_reference)
        findings += _structure_findings(names, files, unusual, {f.files for f in findings})
        if findings:
            pairs.append(Pair(first, second, findings, match if match.characters else None))
    pairs.sort(key=lambda p: (not p.flagged, -max(f.score for f in p.findings), p.first, p.second))
    scores.sort(key=lambda s: (-s[0], -s[1], s[2], s[3]))
    return SimilarityReport(assignment.id if assignment else None, list(taken), pairs, documents, scores,
                            boilerplate, len(common), notes)
