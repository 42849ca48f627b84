"""Each reference model reaches its calibrated threshold under its budget, on the CPU; timed with pytest-benchmark."""

from __future__ import annotations

import pytest
import torch

from autograder import tasks
from autograder.answer_key import load_thresholds, solution_class
from autograder.calibration import train_and_score
from autograder.datasets import load_dataset
from autograder.spec import load_assignment
from autograder.thresholds import threshold_for
from autograder.training import predict
from tests.conftest import data_sources

ASSIGNMENT = load_assignment("cpsc663-ex2")
CPU = torch.device("cpu")
BRIEF = [
    pytest.param(model.name, name, id=name)
    for model in ASSIGNMENT.models.values()
    for name in (model.brief, *model.denoise)
]


@pytest.mark.slow
@pytest.mark.parametrize("data_dir", data_sources())
@pytest.mark.parametrize("model, recipe_name", BRIEF)
def test_reference_reaches_its_threshold_under_its_budget(benchmark, model, recipe_name, data_dir):
    recipe = ASSIGNMENT.recipe(recipe_name)
    dataset = load_dataset(recipe.dataset, data_dir)
    data = tasks.task_data(recipe, dataset)
    threshold = threshold_for(load_thresholds(ASSIGNMENT), recipe_name, dataset)
    assert threshold.same_data, f"{recipe_name} is not calibrated on {threshold.data_key}"
    seed = ASSIGNMENT.calibration_seeds[0]
    input_shape = ASSIGNMENT.models[model].input_shapes[0]
    model_cls = solution_class(ASSIGNMENT, model)

    result = benchmark.pedantic(
        train_and_score, args=(model_cls, recipe, data, input_shape, CPU, seed), rounds=1, iterations=1
    )
    value = tasks.as_metric(recipe, result.error)
    assert result.steps_done == recipe.steps
    assert threshold.passes(value), f"{recipe_name}: {value:.4f} does not pass {threshold.describe()}"


@pytest.mark.parametrize("data_dir", data_sources())
@pytest.mark.parametrize("model, recipe_name", BRIEF)
def test_untrained_reference_fails_its_threshold(model, recipe_name, data_dir):
    recipe = ASSIGNMENT.recipe(recipe_name)
    dataset = load_dataset(recipe.dataset, data_dir)
    data = tasks.task_data(recipe, dataset)
    threshold = threshold_for(load_thresholds(ASSIGNMENT), recipe_name, dataset)
    torch.manual_seed(0)
    untrained = solution_class(ASSIGNMENT, model)()
    outputs = predict(untrained, data.eval_inputs, input_shape=ASSIGNMENT.models[model].input_shapes[0], device=CPU)
    value = tasks.as_metric(recipe, tasks.error(recipe, data, outputs))
    assert not threshold.passes(value), f"an untrained {model} passes {threshold.describe()} with {value:.4f}"


@pytest.mark.parametrize("data_dir", data_sources())
def test_every_recipe_is_calibrated_with_a_clear_margin_and_full_provenance(data_dir):
    table = load_thresholds(ASSIGNMENT)
    for model in ASSIGNMENT.models.values():
        for name in model.recipe_names:
            recipe = ASSIGNMENT.recipe(name)
            dataset = load_dataset(recipe.dataset, data_dir)
            threshold = threshold_for(table, name, dataset)
            assert threshold.same_data, f"{name} has no calibration on {threshold.data_key}"
            entry = table["recipes"][name][threshold.data_key]
            assert len(entry["seeds"]) >= 5 and len(entry["values"]) == len(entry["seeds"])
            assert entry["margin"] >= ASSIGNMENT.min_margin
            budget = {k: v for k, v in recipe.as_dict().items() if k != "description"}
            calibrated = {k: v for k, v in entry["budget"].items() if k != "description"}
            assert calibrated == budget, f"{name}: the recipe changed since calibration; recalibrate"
            assert {"device", "torch", "numpy", "python"} <= set(entry["environment"])
            assert {"source", "location", "original", "split"} <= set(entry["data"])
            pick = min if entry["pass_if"] == "at most" else max
            best_trivial = pick(entry["trivial"].values())
            assert threshold.passes(entry["worst"]) and not threshold.passes(best_trivial)
