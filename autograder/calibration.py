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
import sys
import time
from dataclasses import MISSING, dataclass

import numpy as np
import torch

from .answer_key import calibrate_command, solution_class, thresholds_path
from .common.training import fit, predict
from .datasets.declared import ImageData, load_declared
from .spec import Assignment, Recipe
from .tasks import TaskData, pca_error, task_of

RULE = (
    "error = MSE (excess BCE, 1 - accuracy, 1 - AUC); margin = 1 - worst seed's error / best trivial error "
    "(must be >= min_margin); threshold error = worst + slack * (trivial - worst)"
)


class CalibrationError(RuntimeError):
    """The budget does not let the reference clearly beat the trivial answers."""


def data_key(dataset) -> str:
    """Names the data a calibration ran on, independent of the machine's paths."""
    if isinstance(dataset, ImageData):
        return dataset.data_key
    return f"{dataset.name} from {dataset.provenance.source}: {dataset.provenance.original}"


def changed_since(recipe: Recipe, budget: dict) -> list[str]:
    """The recipe's settings that differ from the budget a threshold was calibrated with (a setting the
    stored budget lacks counts as its default: recipes gain optional settings without changing)."""
    from dataclasses import fields

    defaults = {f.name: f.default for f in fields(Recipe) if f.default is not MISSING}
    defaults.update({"inlier": [], "kwargs": {}})
    current = recipe.as_dict()
    return sorted(k for k, v in current.items()
                  if k != "description" and budget.get(k, defaults.get(k)) != v)


@dataclass(frozen=True)
class SeedResult:
    seed: int
    error: float
    seconds: float
    steps_done: int


def _keras():
    """Keras, where the answer key's code imported it (calibration runs the reference in this process)."""
    return sys.modules.get("keras")


def _forward(model, training: bool):
    keras = _keras()
    return (lambda x: model(x, training=training)) if keras is not None and isinstance(model, keras.Model) else model


def train_and_score(builder, kwargs: dict, recipe: Recipe, data: TaskData, device, seed) -> SeedResult:
    start = time.perf_counter()
    torch.manual_seed(seed)
    if _keras() is not None:
        _keras().utils.set_random_seed(seed)
    model = builder(**kwargs)
    log = fit(model, recipe, torch.from_numpy(data.train_inputs),
              torch.from_numpy(data.train_labels) if data.train_labels is not None else None,
              device=device, seed=seed, forward=_forward(model, True))
    outputs = predict(model, torch.from_numpy(data.eval_inputs), device=device, call=_forward(model, False))
    task = task_of(recipe)
    return SeedResult(seed, task.error(recipe, data, outputs.numpy()), time.perf_counter() - start, log.steps_done)


def summarise(assignment: Assignment, recipe: Recipe, model: str, results, trivial, comparisons, images,
              device) -> dict:
    task = task_of(recipe)
    errors = [r.error for r in results]
    worst = max(errors)
    best_trivial = min(trivial.values())
    margin = 1.0 - worst / best_trivial
    if margin < assignment.calibration.min_margin:
        raise CalibrationError(
            f"{recipe.name}: under {recipe.budget()} the worst seed's error {worst:.4f} removes only "
            f"{margin:.0%} of the trivial answer's {best_trivial:.4f} (at least "
            f"{assignment.calibration.min_margin:.0%} needed); lengthen the budget"
        )
    slack = recipe.slack if recipe.slack is not None else assignment.calibration.slack
    threshold_error = worst + slack * (best_trivial - worst)
    metric = [task.metric(e) for e in errors]
    return {
        "model": model,
        "metric": task.metric_name(recipe),
        "pass_if": task.pass_if,
        "threshold": round(task.metric(threshold_error), 6),
        "seeds": [r.seed for r in results],
        "values": [round(v, 6) for v in metric],
        "mean": round(statistics.fmean(metric), 6),
        "std": round(statistics.pstdev(metric), 6),
        "worst": round(task.metric(worst), 6),
        "best": round(task.metric(min(errors)), 6),
        "trivial": {name: round(task.metric(e), 6) for name, e in trivial.items()},
        "margin": round(margin, 4),
        "compared_with": {name: round(e, 6) for name, e in comparisons.items()},
        "slack": slack,
        "budget": recipe.as_dict(),
        "data": {
            "description": images.description,
            "train_samples_used": min(recipe.train_samples or len(images.train_images), len(images.train_images)),
            "eval_samples_used": min(recipe.eval_samples or len(images.test_images), len(images.test_images)),
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




def threshold_checks() -> frozenset[str]:
    """The check types that compare with a calibrated bar."""
    from .grading.registry import CHECK_TYPES

    return frozenset(name for name, kind in CHECK_TYPES.items() if "bar" in kind.tags)


def recipe_subjects(assignment: Assignment) -> dict[str, tuple[str, dict]]:
    """Recipe -> (the subject whose reference calibrates it, with its arguments)."""
    found = {}
    for subject in assignment.subjects.values():
        for check in subject.checks.values():
            name = check.options.get("recipe")
            if name and name not in found and check.type in threshold_checks():
                found[name] = (subject.key, dict(subject.kwargs))
    for recipe in assignment.recipes.values():
        if recipe.subject:
            found[recipe.name] = (recipe.subject, {**assignment.subjects[recipe.subject].kwargs, **recipe.kwargs})
        elif recipe.name in found and recipe.kwargs:
            found[recipe.name] = (found[recipe.name][0], {**found[recipe.name][1], **recipe.kwargs})
    return found


@dataclass(frozen=True)
class SeedStarted:
    """Told to ``progress`` as a seed starts training (a terminal shows it until the seed's line replaces it)."""

    recipe: str
    seed: int
    index: int
    count: int

    def __str__(self) -> str:
        return f"  {self.recipe} seed {self.seed} ({self.index + 1}/{self.count}): training..."


def print_progress(message, stream=None) -> None:
    """Calibration's progress: a line per seed as it ends; on a terminal, also the seed in training, replaced by
    its line when it ends. Flushed, so that a log or a pipe shows each seed as it ends."""
    import sys

    stream = stream or sys.stdout
    tty = stream.isatty()
    if isinstance(message, SeedStarted):
        if tty:
            stream.write(f"\r{message}")
            stream.flush()
        return
    stream.write(f"\r\033[K{message}\n" if tty else f"{message}\n")
    stream.flush()


def calibrate_recipe(assignment: Assignment, subject: str, kwargs: dict, recipe: Recipe, images: ImageData, device,
                     seeds, progress=print_progress) -> dict:
    spec = assignment.subjects[subject]
    builder = solution_class(assignment, subject)
    data = task_of(recipe).data(recipe, images, spec.input.shapes[0], spec.input.layout)
    results = []
    for index, seed in enumerate(seeds):
        progress(SeedStarted(recipe.name, seed, index, len(seeds)))
        results.append(train_and_score(builder, kwargs, recipe, data, device, seed))
        progress(f"  {recipe.name} seed {seed} ({index + 1}/{len(seeds)}): {task_of(recipe).metric_name(recipe)} "
                 f"{task_of(recipe).metric(results[-1].error):.4f} ({results[-1].seconds:.1f} s)")
    task = task_of(recipe)
    comparisons = task.comparison_errors(recipe, data)
    if recipe.pca:
        comparisons[f"PCA with {recipe.pca} components"] = pca_error(data, recipe.pca)
    return summarise(assignment, recipe, subject, results, task.trivial_errors(recipe, data), comparisons, images,
                     device)


def calibrate(assignment: Assignment, *, data_dir=None, device, recipes=None, seeds=None,
              progress=print_progress) -> dict:
    """Calibrate ``recipes`` (default: all) and merge them into the thresholds file; return its content.

    A recipe whose budget is too short, or whose data is not here, is reported and left out; the others are
    still written. Raises ``CalibrationError`` at the end if any failed.
    """
    from .datasets.declared import DataMissing

    path = thresholds_path(assignment)
    table = json.loads(path.read_text()) if path.is_file() else {}
    table.update({"assignment": assignment.id, "rule": RULE,
                  "command": f"{calibrate_command(assignment)} [--data-dir DIR] [--recipe NAME]"})
    entries = table.setdefault("recipes", {})
    failures = []
    for name, (subject, kwargs) in recipe_subjects(assignment).items():
        if recipes and name not in recipes:
            continue
        recipe = assignment.recipe(name)
        try:
            images = load_declared(assignment.data_spec(recipe.data), data_dir)
        except DataMissing as missing:
            progress(f"{name}: skipped: {missing}")
            continue
        progress(f"{name} ({subject}, {recipe.budget()}) on {images.data_key}")
        try:
            entry = calibrate_recipe(assignment, subject, kwargs, recipe, images, device,
                                     seeds or assignment.calibration.seeds, progress)
        except CalibrationError as failure:
            progress(f"  FAILED: {failure}")
            failures.append(str(failure))
            continue
        entries.setdefault(name, {})[images.data_key] = entry
        path.write_text(json.dumps(table, indent=1) + "\n")
    if failures:
        raise CalibrationError("; ".join(failures))
    return table
