"""Models with exactly the same unusual structure: weight files with the same tensor names and shapes, where
those shapes are not the reference solution's and hardly anyone else in the batch has them.

The handout prescribes an architecture, so many honest submissions share the reference's shapes (named in
a few common ways); two students who depart from it in exactly the same way, down to the layers' names,
are worth a look.
"""

from __future__ import annotations

import math
from collections import defaultdict

from .thresholds import STRUCTURE_MAX_HOLDERS, STRUCTURE_MAX_SHARE
from .weights import WeightFile


def unusual_structures(weights: dict[str, list[WeightFile]], reference: list[WeightFile]) -> dict[tuple, list[str]]:
    """Signature -> the submissions holding it, for each signature held by 2 to the allowed few submissions
    and whose shapes no reference file has."""
    holders = defaultdict(set)
    for name, files in weights.items():
        for file in files:
            holders[file.signature].add(name)
    prescribed = {file.shapes for file in reference}
    most = max(STRUCTURE_MAX_HOLDERS, math.floor(STRUCTURE_MAX_SHARE * len(weights)))
    return {signature: sorted(names) for signature, names in holders.items()
            if 2 <= len(names) <= most and tuple(sorted(shape for _, shape in signature)) not in prescribed}
