"""Checks that train or load the student's model and score it on held-out data in the trusted process."""

from __future__ import annotations

import numpy as np
import torch

from ... import tasks
from ...results import Verdict
from ...spec import ModelSpec
from ..context import CheckFailed, GradingContext

SEEDS = (0, 1)  # a second seed is tried only when the first falls short, so a correct model is rarely unlucky


def _score(ctx: GradingContext, recipe_name: str, outputs: np.ndarray) -> float:
    recipe = ctx.assignment.recipe(recipe_name)
    data = ctx.task_data(recipe_name)
    rows = torch.from_numpy(np.array(outputs, dtype=np.float32))
    expected = data.eval_targets.shape[1] if recipe.task != "classify" else None
    if rows.ndim != 2 or len(rows) != len(data.eval_labels) or (expected and rows.shape[1] != expected):
        raise CheckFailed(f"the model's outputs for {len(data.eval_labels)} held-out images have shape "
                          f"{tuple(rows.shape)}")
    if recipe.task == "classify" and rows.shape[1] < 2:
        raise CheckFailed(f"the model gives {rows.shape[1]} score(s) per image, not one per class")
    if not torch.isfinite(rows).all():
        raise CheckFailed("the model's outputs on held-out images contain NaN or infinity")
    return tasks.as_metric(recipe, tasks.error(recipe, data, rows))


def _train(ctx: GradingContext, model: ModelSpec, recipe_name: str, seed: int) -> tuple[float, dict]:
    recipe = ctx.assignment.recipe(recipe_name)
    data = ctx.task_data(recipe_name)
    shape = ctx.usable_input_shape(model)
    arrays = {"train_images": data.train_images.numpy(), "eval_inputs": data.eval_inputs.numpy()}
    if recipe.task == "classify":
        arrays["train_labels"] = data.train_labels.numpy()
    header, out = ctx.call(
        "train_predict", f"training {model.name} ({recipe.budget()})", ctx.train_timeout(recipe_name),
        arrays=arrays, model=ctx.probe(model).ref, recipe=recipe.as_dict(), seed=seed, input_shape=list(shape),
        part=ctx.reconstruction_part(model),
    )  # fmt: skip
    if header.get("stopped"):
        raise CheckFailed(f"training {model.name} stopped: {header['stopped']}")
    return _score(ctx, recipe_name, out["outputs"]), header


def _bar(ctx: GradingContext, recipe_name: str) -> str:
    entry = ctx.calibration(recipe_name)
    values = entry["values"]
    trivial = "; ".join(f"{name}: {value:.4g}" for name, value in entry["trivial"].items())
    return (f"the reference reaches {min(values):.4g} to {max(values):.4g} under the same budget; "
            f"answers that ignore the input get {trivial}")


def check_brief_training(ctx: GradingContext, model: ModelSpec, recipe_name: str | None = None) -> Verdict:
    recipe_name = recipe_name or model.brief
    recipe = ctx.assignment.recipe(recipe_name)
    threshold = ctx.threshold(recipe_name)
    values = []
    for seed in SEEDS:
        value, _ = _train(ctx, model, recipe_name, seed)
        values.append(value)
        if threshold.passes(value):
            tries = "" if seed == SEEDS[0] else f" (on a second seed; the first gave {values[0]:.4g})"
            return Verdict(True, f"after brief training ({recipe.budget()}, {recipe.optimizer} lr {recipe.lr:g}) "
                                 f"{model.name} reaches {threshold.metric} {value:.4g} on held-out images; "
                                 f"the bar is {threshold.describe()}{tries}")
    tried = " and ".join(f"{v:.4g}" for v in values)
    return Verdict(False, f"after brief training ({recipe.budget()}, {recipe.optimizer} lr {recipe.lr:g}) "
                          f"{model.name} reaches {threshold.metric} {tried} on held-out images (two seeds); the bar "
                          f"is {threshold.describe()} ({_bar(ctx, recipe_name)}). The model does not learn as the "
                          "reference does: check the layers, and that forward returns the reconstruction "
                          "(or, for a classifier, one score per class).")


def _weights(ctx: GradingContext, model: ModelSpec) -> tuple[str, dict, np.ndarray | None]:
    key = ("weights", model.name)
    if key not in ctx.cache:
        present = [name for name in model.weights if ctx.submission.has(name)]
        if not present:
            near = ctx.submission.look_alikes(model.weights, any_suffix=True)
            hint = f" Found {', '.join(near)}: rename it to {model.weights[0]}." if near else ""
            ctx.cache[key] = CheckFailed(f"no weight file for {model.name}: expected "
                                         f"{' or '.join(model.weights)} at the top level of the submission.{hint}")
        else:
            try:
                ctx.cache[key] = _load_and_predict(ctx, model, present[0])
            except CheckFailed as failure:
                ctx.cache[key] = failure
    if isinstance(ctx.cache[key], CheckFailed):
        raise ctx.cache[key]
    return ctx.cache[key]


def _load_and_predict(ctx: GradingContext, model: ModelSpec, file: str) -> tuple[str, dict, np.ndarray | None]:
    """Load the weights into the student's class; predict the held-out inputs if its forward works."""
    try:
        shape, inputs, why_not = ctx.usable_input_shape(model), ctx.task_data(model.trained).eval_inputs.numpy(), None
    except CheckFailed as failure:  # the file can still be loaded; only the predictions are impossible
        shape, inputs, why_not = model.input_shapes[0], np.zeros((0, 1, 28, 28), np.float32), str(failure)
    header, out = ctx.call("weights_predict", f"loading {file} into {model.name}", arrays={"eval_inputs": inputs},
                           model=ctx.probe(model).ref, weights=file, input_shape=list(shape),
                           part=ctx.reconstruction_part(model))
    header["not_predicted"] = why_not
    return file, header, out.get("outputs")


def _load_problem(file: str, model: ModelSpec, header: dict) -> str:
    problem = header["problem"]
    if problem == "pickled object":
        return (f"{file} is not a plain state_dict (loading it with weights_only=True fails: {header['detail']}). "
                f"Save it with torch.save(model.state_dict(), '{file}')")
    if problem == "not a state_dict":
        return f"{file} holds a {header['detail']}, not a state_dict of tensors; save model.state_dict()"
    if problem == "keys":
        parts = []
        if header["missing"]:
            parts.append(f"missing keys {', '.join(header['missing'][:5])}")
        if header["unexpected"]:
            parts.append(f"unexpected keys {', '.join(header['unexpected'][:5])}")
        for key, (found, wanted) in list(header["mismatched"].items())[:5]:
            parts.append(f"{key} has shape {tuple(found)} in the file but {tuple(wanted)} in {model.name}")
        return (f"{file} does not fit {model.name}: {'; '.join(parts)}. Save the weights of the same class you "
                "submit")
    return f"{file} could not be read: {header.get('detail', problem)}"


def check_weights_load(ctx: GradingContext, model: ModelSpec) -> Verdict:
    file, header, _ = _weights(ctx, model)
    if not header["loaded"]:
        problem = _load_problem(file, model, header)
        if file in ctx.submission.renamed:
            problem = f"{ctx.submission.renamed[file]} was graded as {file}, the name the handout asks for. {problem}"
        return Verdict(False, problem)
    if file in ctx.submission.renamed:
        found = ctx.submission.renamed[file]
        return Verdict(False, f"no file named {' or '.join(model.weights)}: the submission has {found} instead. "
                              f"Rename it to {file}; graded as {file}, it loads into {model.name}.")
    message = f"{file} loads into {model.name} (torch.load with weights_only=True, strict keys)"
    if header.get("note"):
        message += f"; {header['note']} (the handout asks for model.state_dict() itself)"
    return Verdict(True, message)


def check_trained_weights(ctx: GradingContext, model: ModelSpec) -> Verdict:
    file, header, outputs = _weights(ctx, model)
    if not header["loaded"]:
        raise CheckFailed(f"not checked: {file} does not load into {model.name}")
    if header.get("not_predicted"):
        raise CheckFailed(f"not checked: {header['not_predicted']}")
    threshold = ctx.threshold(model.trained)
    value = _score(ctx, model.trained, outputs)
    if not threshold.passes(value):
        return Verdict(False, f"{model.name} with the weights in {file} reaches {threshold.metric} {value:.4g} on "
                              f"held-out images; a trained model reaches {threshold.describe()} "
                              f"({_bar(ctx, model.trained)}). Train it before saving (the handout asks for at "
                              "least 10 epochs), and save the trained model's state_dict.")
    return Verdict(True, f"{model.name} with {file} reaches {threshold.metric} {value:.4g} on held-out images "
                         f"(bar: {threshold.describe()})")
