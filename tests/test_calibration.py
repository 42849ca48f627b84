"""The threshold rule, on made-up seed results."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.calibration import CalibrationError, SeedResult, summarise
from autograder.common.recipes import Recipe
from autograder.datasets.declared import ImageData
from autograder.thresholds import MissingThreshold, threshold_for

DATASET = ImageData("mnist", np.zeros((10, 1, 2, 2), np.float32), np.zeros(10, np.int64),
                    np.zeros((4, 1, 2, 2), np.float32), np.zeros(4, np.int64), "somewhere, split",
                    "mnist from package: all 14")


def recipe(task="reconstruct"):
    return Recipe(name="r", task=task, data="mnist", steps=10, batch_size=2, optimizer="adam", lr=0.1)


def results(*errors):
    return [SeedResult(seed, error, 1.0, 10) for seed, error in enumerate(errors)]


def test_threshold_is_halfway_between_the_worst_seed_and_the_trivial_answer(cpsc663):
    entry = summarise(cpsc663, recipe(), "AE", results(0.04, 0.05), {"mean": 0.07}, {}, DATASET, "cpu")
    assert entry["threshold"] == pytest.approx(0.05 + 0.5 * (0.07 - 0.05))
    assert entry["pass_if"] == "at most" and entry["worst"] == 0.05 and entry["best"] == 0.04
    assert entry["margin"] == pytest.approx(1 - 0.05 / 0.07, abs=1e-4)


def test_classifier_thresholds_are_accuracies(cpsc663):
    entry = summarise(cpsc663, recipe("classify"), "CNN", results(0.05, 0.1), {"majority": 0.9}, {}, DATASET, "cpu")
    assert entry["pass_if"] == "at least"
    assert entry["threshold"] == pytest.approx(1 - (0.1 + 0.5 * 0.8))
    assert entry["values"] == [0.95, 0.9]


def test_a_budget_that_does_not_clearly_beat_the_trivial_answer_is_refused(cpsc663):
    with pytest.raises(CalibrationError, match=r"removes only 7% of the trivial answer's 0.0700 .* lengthen"):
        summarise(cpsc663, recipe(), "AE", results(0.05, 0.065), {"mean": 0.07}, {}, DATASET, "cpu")


def test_threshold_lookup_prefers_the_data_in_use_and_falls_back_to_the_most_lenient():
    table = {"recipes": {"r": {
        "mnist from package: all 14": {"metric": "m", "pass_if": "at most", "threshold": 0.05},
        "mnist from data directory: x": {"metric": "m", "pass_if": "at most", "threshold": 0.06},
        "mnist from data directory: y": {"metric": "m", "pass_if": "at most", "threshold": 0.07},
    }}}  # fmt: skip
    exact = threshold_for(table, "r", DATASET.data_key)
    assert exact.same_data and exact.value == 0.05 and exact.passes(0.05) and not exact.passes(0.051)
    del table["recipes"]["r"]["mnist from package: all 14"]
    other = threshold_for(table, "r", DATASET.data_key)
    assert not other.same_data and other.value == 0.07
    with pytest.raises(MissingThreshold, match="no calibrated threshold for recipe 'q'"):
        threshold_for(table, "q", DATASET.data_key)
