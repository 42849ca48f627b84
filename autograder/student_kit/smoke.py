"""The kits' training check: a smoke test that needs no calibrated bar.

A student kit holds no thresholds, so it cannot say whether a model learns as
the reference does. What it can say without one: trained by the grader with a
short recipe, the model's held-out error falls (from one step to the recipe's
steps, the same seed) and stays finite. Its points are 0: the bar is the
instructor's grading.
"""

from __future__ import annotations

from ..grading.checks.expected import Expected
from ..grading.locate import Subject
from ..grading.measure.training import train
from ..results import Verdict
from ..tasks import task_of

CHECK = "training_smoke"
TITLE = "{name} trains: its held-out error falls and stays finite (a smoke test; the bar is the instructor's)"
SEED = 0


def measure_smoke_training(ctx, subject: Subject, check) -> dict:
    """The held-out metric after the ``start`` recipe (one step) and after ``recipe``, from the same seed."""
    start, recipe_name = check.options["start"], check.options["recipe"]
    predict = check.options.get("predict")
    before, _ = train(ctx, subject, start, SEED, predict)
    after, header = train(ctx, subject, recipe_name, SEED, predict)
    recipe = ctx.assignment.recipe(recipe_name)
    task = task_of(recipe)
    return {"metric": task.metric_name(recipe), "higher_is_better": task.pass_if == "at least",
            "before": before, "after": after, "steps": recipe.steps, "steps_done": header.get("steps_done"),
            "first_steps": ctx.assignment.recipe(start).steps}


def check_smoke_training(measured: dict, expected: Expected) -> Verdict:
    """Passes when the metric improved from the first step to the last (finite outputs and losses are the
    measurement's own conditions: it fails before, naming what was not finite)."""
    before, after = measured["before"], measured["after"]
    improved = after > before if measured["higher_is_better"] else after < before
    seen = (f"{expected.name} reaches {measured['metric']} {before:.4g} on held-out data after "
            f"{measured['first_steps']} step and {after:.4g} after {measured['steps']} steps")
    if not improved:
        return Verdict(False, f"{seen}: it does not learn. Check that forward computes the output from the "
                              "layers (with their parameters registered as module attributes) and that nothing "
                              "stops the gradients.")
    return Verdict(True, f"{seen}: it learns. Whether it learns as well as the reference is part of the "
                         "instructor's grading.")
