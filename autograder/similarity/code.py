"""How much of two submissions' code is the same, with copydetect (winnowed fingerprints of the token stream).

copydetect's tokenizer replaces every variable name with ``V``, function name with ``F`` and class name with
``O`` and drops comments and whitespace, so renaming identifiers changes nothing; fingerprints are a set, so
reordering functions or files changes nothing either. The starter code students were handed is boilerplate:
its fingerprints are removed from every submission before comparing, so it never counts; so is the code that
most of the batch shares (a notebook template, helpers the handout gives), as MOSS does.
"""

from __future__ import annotations

import copy
import io
import math
from collections import Counter
from dataclasses import dataclass

NOISE_CHARACTERS = 25  # copydetect's default noise threshold: shorter matches (of filtered code) are noise
_NAME = "submission.py"  # tells copydetect's tokenizer (pygments) the language


@dataclass(frozen=True)
class CodeMatch:
    """The code two submissions share, apart from the starter code."""

    similarity: tuple[float, float]  # per side: the part of its own (non-starter) code found in the other
    characters: int  # of filtered code (each name is one character) in common
    slices: tuple[list[tuple[int, int]], list[tuple[int, int]]]  # per side: (start, end) in its document

    @property
    def score(self) -> float:
        """The larger side: a copy padded with extra code of its own still shows as the original's share."""
        return max(self.similarity)


def fingerprint(document: str):
    """copydetect's fingerprint of one document, every k-gram kept (a batch is small)."""
    from copydetect import CodeFingerprint

    return CodeFingerprint(_NAME, NOISE_CHARACTERS, 1, fp=io.StringIO(document))


def without(found, hashes: frozenset):
    """A copy of fingerprint ``found`` less ``hashes`` (the starter's, the batch's common code).

    Done here rather than by copydetect's ``boilerplate=`` argument, which (0.5.0) intersects with
    ``assume_unique=True`` and so also drops fingerprints that merely repeat within the document."""
    from copydetect.utils import get_token_coverage

    kept = copy.copy(found)
    kept.hashes = found.hashes - hashes
    kept.hash_idx = {h: where for h, where in found.hash_idx.items() if h not in hashes}
    kept.token_coverage = get_token_coverage(kept.hash_idx, NOISE_CHARACTERS, len(found.filtered_code))
    return kept


def boilerplate_hashes(documents: list[str]) -> frozenset:
    """The fingerprints of the starter code, to be discarded from every submission's."""
    return frozenset().union(*(fingerprint(document).hashes for document in documents))


def common_hashes(fingerprints: list, share: float, least: int) -> frozenset:
    """Fingerprints found in more than ``share`` of the documents and in at least ``least`` of them."""
    counts = Counter(h for found in fingerprints for h in found.hashes)
    needed = max(least, math.floor(share * len(fingerprints)) + 1)
    return frozenset(h for h, count in counts.items() if count >= needed)


def compare_code(first, second) -> CodeMatch:
    """What two fingerprints (from ``fingerprint``) have in common."""
    from copydetect import compare_files

    if not first.hashes or not second.hashes:
        return CodeMatch((0.0, 0.0), 0, ([], []))
    characters, similarity, slices = compare_files(first, second)
    if not characters:
        return CodeMatch((0.0, 0.0), 0, ([], []))
    spans = tuple([(int(a), int(b)) for a, b in zip(*side, strict=True)] for side in slices)
    return CodeMatch((float(similarity[0]), float(similarity[1])), int(characters), spans)
