"""Each reference model reaches its calibrated threshold under its budget, on the CPU; timed with pytest-benchmark."""

from __future__ import annotations

import pytest
import torch

from autograder.answer_key import load_thresholds, solution_class
from autograder.calibration import changed_since, recipe_subjects, train_and_score
from autograder.common.training import predict
from autograder.datasets.declared import load_declared
from autograder.grading.registry import load_assignment
from autograder.tasks import task_of
from autograder.thresholds import threshold_for
from tests.conftest import data_sources

ASSIGNMENT = load_assignment("cpsc663-ex2")
CPU = torch.device("cpu")
CALIBRATED = recipe_subjects(ASSIGNMENT)
BRIEF = [pytest.param(subject, name, id=name) for name, (subject, _) in CALIBRATED.items()
         if not name.endswith("-trained")]


def task_data(subject, recipe_name, data_dir):
    recipe = ASSIGNMENT.recipe(recipe_name)
    images = load_declared(ASSIGNMENT.data_spec(recipe.data), data_dir)
    spec = ASSIGNMENT.subjects[subject]
    return recipe, images, task_of(recipe).data(recipe, images, spec.input.shapes[0], spec.input.layout)


@pytest.mark.slow
@pytest.mark.parametrize("data_dir", data_sources())
@pytest.mark.parametrize("model, recipe_name", BRIEF)
def test_reference_reaches_its_threshold_under_its_budget(benchmark, model, recipe_name, data_dir):
    recipe, images, data = task_data(model, recipe_name, data_dir)
    threshold = threshold_for(load_thresholds(ASSIGNMENT), recipe_name, images.data_key)
    assert threshold.same_data, f"{recipe_name} is not calibrated on {threshold.data_key}"
    seed = ASSIGNMENT.calibration.seeds[0]
    builder = solution_class(ASSIGNMENT, model)

    result = benchmark.pedantic(
        train_and_score, args=(builder, CALIBRATED[recipe_name][1], recipe, data, CPU, seed), rounds=1, iterations=1
    )
    value = task_of(recipe).metric(result.error)
    assert result.steps_done == recipe.steps
    assert threshold.passes(value), f"{recipe_name}: {value:.4f} does not pass {threshold.describe()}"


@pytest.mark.parametrize("data_dir", data_sources())
@pytest.mark.parametrize("model, recipe_name", BRIEF)
def test_untrained_reference_fails_its_threshold(model, recipe_name, data_dir):
    recipe, images, data = task_data(model, recipe_name, data_dir)
    threshold = threshold_for(load_thresholds(ASSIGNMENT), recipe_name, images.data_key)
    torch.manual_seed(0)
    untrained = solution_class(ASSIGNMENT, model)()
    outputs = predict(untrained, torch.from_numpy(data.eval_inputs), device=CPU)
    value = task_of(recipe).metric(task_of(recipe).error(recipe, data, outputs.numpy()))
    assert not threshold.passes(value), f"an untrained {model} passes {threshold.describe()} with {value:.4f}"


@pytest.mark.parametrize("data_dir", data_sources())
def test_every_recipe_is_calibrated_with_a_clear_margin_and_full_provenance(data_dir):
    table = load_thresholds(ASSIGNMENT)
    for name, (subject, _) in CALIBRATED.items():
        recipe, images, _ = task_data(subject, name, data_dir)
        threshold = threshold_for(table, name, images.data_key)
        assert threshold.same_data, f"{name} has no calibration on {threshold.data_key}"
        entry = table["recipes"][name][threshold.data_key]
        assert len(entry["seeds"]) >= 5 and len(entry["values"]) == len(entry["seeds"])
        assert entry["margin"] >= ASSIGNMENT.calibration.min_margin
        assert not changed_since(recipe, entry["budget"]), f"{name}: the recipe changed since calibration; recalibrate"
        assert {"device", "torch", "numpy", "python"} <= set(entry["environment"])
        assert entry["data"]["description"] and entry["data"]["train_samples_used"] > 0
        pick = min if entry["pass_if"] == "at most" else max
        best_trivial = pick(entry["trivial"].values())
        assert threshold.passes(entry["worst"]) and not threshold.passes(best_trivial)
