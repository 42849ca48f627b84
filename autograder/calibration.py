"""Derive an assignment's thresholds by training its reference models over several seeds.

The rule, the same for every recipe, with errors (MSE, or 1 - accuracy) where
lower is better:

* every seed trains the reference model under the recipe's budget and is
  scored on held-out data;
* ``margin = 1 - worst / trivial``, the share of the best trivial answer's
  error that the worst seed removes, must be at least ``min_margin``; else the
  budget is too short to tell a model that learned from one that did not, and
  calibration fails;
* ``threshold = worst + slack * (trivial - worst)``.

Results are merged into the assignment's ``thresholds.json`` with everything
needed to reproduce them: seeds, budget, data source and sizes, device,
versions, the spread over seeds.
"""

from __future__ import annotations

import datetime
import json
import platform
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from . import tasks
from .answer_key import solution_class
from .datasets import Dataset, load_dataset
from .recipes import Recipe
from .spec import Assignment
from .training import fit, predict

RULE = (
    "error = MSE, or 1 - accuracy; margin = 1 - worst seed's error / best trivial error "
    "(must be >= min_margin); threshold error = worst + slack * (trivial - worst)"
)


class CalibrationError(RuntimeError):
    """The budget does not let the reference clearly beat the trivial answers."""


def data_key(dataset: Dataset) -> str:
    """Names the data a calibration ran on, independent of the machine's paths."""
    return f"{dataset.name} from {dataset.provenance.source}: {dataset.provenance.original}"


@dataclass(frozen=True)
class SeedResult:
    seed: int
    error: float
    seconds: float
    steps_done: int


def train_and_score(model_cls, recipe: Recipe, data: tasks.TaskData, input_shape, device, seed) -> SeedResult:
    start = time.perf_counter()
    torch.manual_seed(seed)
    model = model_cls()
    log = fit(
        model, recipe, data.train_images, data.train_labels,
        input_shape=input_shape, device=device, seed=seed,
    )  # fmt: skip
    outputs = predict(model, data.eval_inputs, input_shape=input_shape, device=device)
    return SeedResult(seed, tasks.error(recipe, data, outputs), time.perf_counter() - start, log.steps_done)


def summarise(
    assignment: Assignment, recipe: Recipe, model: str, results, trivial, comparisons, dataset, device
) -> dict:
    errors = [r.error for r in results]
    worst = max(errors)
    best_trivial = min(trivial.values())
    margin = 1.0 - worst / best_trivial
    if margin < assignment.min_margin:
        raise CalibrationError(
            f"{recipe.name}: under {recipe.budget()} the worst seed's error {worst:.4f} removes only "
            f"{margin:.0%} of the trivial answer's {best_trivial:.4f} (at least "
            f"{assignment.min_margin:.0%} needed); lengthen the budget"
        )
    threshold_error = worst + assignment.slack * (best_trivial - worst)
    metric = [tasks.as_metric(recipe, e) for e in errors]
    return {
        "model": model,
        "metric": tasks.metric_name(recipe),
        "pass_if": "at least" if recipe.task == "classify" else "at most",
        "threshold": round(tasks.as_metric(recipe, threshold_error), 6),
        "seeds": [r.seed for r in results],
        "values": [round(v, 6) for v in metric],
        "mean": round(statistics.fmean(metric), 6),
        "std": round(statistics.pstdev(metric), 6),
        "worst": round(tasks.as_metric(recipe, worst), 6),
        "best": round(tasks.as_metric(recipe, min(errors)), 6),
        "trivial": {name: round(tasks.as_metric(recipe, e), 6) for name, e in trivial.items()},
        "margin": round(margin, 4),
        "compared_with": {name: round(e, 6) for name, e in comparisons.items()},
        "slack": assignment.slack,
        "budget": recipe.as_dict(),
        "data": {
            **dataset.provenance.as_dict(),
            "train_samples_used": min(recipe.train_samples or len(dataset.train), len(dataset.train)),
            "eval_samples_used": min(recipe.eval_samples or len(dataset.test), len(dataset.test)),
        },
        "environment": {
            "device": str(device),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
        "derived_on": datetime.date.today().isoformat(),
        "seconds_per_seed": round(statistics.fmean(r.seconds for r in results), 2),
    }


def calibrate_recipe(
    assignment: Assignment, model: str, recipe: Recipe, dataset: Dataset, device, seeds, progress=print
) -> dict:
    model_cls = solution_class(assignment, model)
    input_shape = assignment.models[model].input_shapes[0]
    data = tasks.task_data(recipe, dataset)
    results = []
    for seed in seeds:
        results.append(train_and_score(model_cls, recipe, data, input_shape, device, seed))
        progress(f"  {recipe.name} seed {seed}: {tasks.metric_name(recipe)} "
                 f"{tasks.as_metric(recipe, results[-1].error):.4f} ({results[-1].seconds:.1f} s)")
    return summarise(assignment, recipe, model, results, tasks.trivial_errors(recipe, data),
                     tasks.comparison_errors(recipe, data), dataset, device)


def calibrate(assignment: Assignment, *, data_dir=None, device, recipes=None, seeds=None, progress=print) -> dict:
    """Calibrate ``recipes`` (default: all) and merge them into the thresholds file; return its content.

    A recipe whose budget is too short is reported and left out; the others are
    still written. Raises ``CalibrationError`` at the end if any failed.
    """
    path = assignment.paths["thresholds"]
    table = json.loads(path.read_text()) if path.is_file() else {}
    table.update({"assignment": assignment.id, "rule": RULE,
                  "command": f"autograder calibrate {assignment.id} [--data-dir DIR] [--recipe NAME]"})
    entries = table.setdefault("recipes", {})
    failures = []
    for model in assignment.models.values():
        for name in model.recipe_names:
            if recipes and name not in recipes:
                continue
            recipe = assignment.recipe(name)
            dataset = load_dataset(recipe.dataset, data_dir)
            progress(f"{name} ({model.name}, {recipe.budget()}) on {data_key(dataset)}")
            try:
                entry = calibrate_recipe(assignment, model.name, recipe, dataset, device,
                                         seeds or assignment.calibration_seeds, progress)
            except CalibrationError as failure:
                progress(f"  FAILED: {failure}")
                failures.append(str(failure))
                continue
            entries.setdefault(name, {})[data_key(dataset)] = entry
            path.write_text(json.dumps(table, indent=1) + "\n")
    if failures:
        raise CalibrationError("; ".join(failures))
    return table
