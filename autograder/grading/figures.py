"""The feedback page's figures, made after every check ran from what measuring kept (``GradingContext.keep``:
the plain records of ``measure/training.py``): a few held-out images and what the model made of them, a
confusion matrix, the codes of a 2-D bottleneck, the first layer's filters, brief training's losses against the
reference's band.

Each figure is a small dict of plain, JSON-safe data (``SubmissionResult.figures``), drawn later by
``report/figures.py``, which calls no student code. Nothing here measures or decides a verdict: a figure that
cannot be made is left out, silently when the student's code is why.
"""

from __future__ import annotations

import base64

import numpy as np

from .locate import Subject
from .measure.training import HeldOutOutputs, ScoredWeights, TrainingRuns
from .outcomes import CheckFailed, NotGradable

IMAGES = 8  # held-out examples shown with the model's outputs
FILTERS = 64  # first-layer filters
LOSS_POINTS = 200  # losses of one training run
IMAGE_TASKS = ("reconstruct", "denoise")  # tasks whose outputs are images of the held-out inputs


def figures_of(ctx) -> list[dict]:
    """Every figure the measurements kept allow, one per key, in the order they were measured."""
    made: dict[str, dict] = {}
    for record in ctx.measured:
        for make, *arguments in _makers(ctx, record):
            figure = _never_raises(ctx, make, *arguments)
            if figure is not None:
                made.setdefault(figure["key"], figure)
    return list(made.values())


def _makers(ctx, record) -> list[tuple]:
    """The figures a record allows, each as (function, its arguments)."""
    if isinstance(record, TrainingRuns):
        last = [(_after_brief_training, ctx, record.last)] if record.last is not None else []
        return [(brief_training, ctx, record), *last]
    if isinstance(record, HeldOutOutputs):
        return [(outputs_figure, ctx, record)]
    if isinstance(record, ScoredWeights):
        return [(outputs_figure, ctx, record.outputs), (code_scatter, record),
                (first_layer_filters, ctx, record)]
    raise TypeError(f"no figure is made of a {type(record).__name__}")


def _never_raises(ctx, make, *arguments) -> dict | None:
    """A figure never costs a check: whatever making it raises is told to the staff and the figure left out."""
    try:
        return make(*arguments)
    except (CheckFailed, NotGradable):
        return None
    except Exception as error:  # noqa: BLE001 - the grader's own fault, never the student's
        ctx.staff_log.append(f"a figure for the feedback page could not be made ({make.__name__}): "
                             f"{type(error).__name__}: {error}")
        return None


def _after_brief_training(ctx, last: HeldOutOutputs) -> dict | None:
    """The outputs of the last brief training run tried, keyed by its recipe."""
    figure = outputs_figure(ctx, last)
    return None if figure is None else {**figure, "key": f"{figure['key']}/{last.recipe}"}


def _pixels(images: np.ndarray, low: float, high: float) -> dict:
    """Images (n, H, W) or (n, H, W, 3) as bytes 0-255 over [low, high], base64: a few kB per figure."""
    scaled = np.clip((np.asarray(images, np.float64) - low) / (high - low), 0, 1)
    data = np.round(scaled * 255).astype(np.uint8)
    return {"shape": list(data.shape), "uint8": base64.b64encode(data.tobytes()).decode("ascii")}


def _as_images(rows: np.ndarray, image_shape, layout: str) -> np.ndarray | None:
    """Rows of values, in the order the model takes them, as (n, H, W) or (n, H, W, 3) images."""
    channels, height, width = image_shape
    rows = np.asarray(rows, np.float64)
    if rows.ndim < 2 or rows[0].size != channels * height * width:
        return None
    if layout == "channels_last":
        images = rows.reshape(len(rows), height, width, channels)
    else:
        images = rows.reshape(len(rows), channels, height, width).transpose(0, 2, 3, 1)
    return images if channels == 3 else images[..., 0]


def _base(kind: str, subject: Subject, source: str, title: str) -> dict:
    return {"kind": kind, "key": f"{kind}/{subject.key}/{source}", "problem": subject.spec.problem,
            "subject": subject.label, "source": source, "title": title}


def outputs_figure(ctx, measured: HeldOutOutputs) -> dict | None:
    """A figure of a model's outputs on the recipe's held-out inputs: the first few images and their
    reconstructions, or the confusion matrix of a classifier."""
    subject, data, source = measured.subject, measured.data, measured.source
    recipe = ctx.assignment.recipe(measured.recipe)
    rows = np.asarray(measured.outputs)
    if recipe.task == "classify":
        labels = np.asarray(data.eval_labels, np.int64)
        predicted = rows.argmax(axis=1)
        classes = int(max(rows.shape[1], labels.max() + 1))
        matrix = np.zeros((classes, classes), np.int64)
        np.add.at(matrix, (labels, predicted), 1)
        figure = _base("confusion", subject, source, f"{subject.label}: held-out classes against its predictions, "
                                                     f"{source}")
        return {**figure, "matrix": matrix.tolist(), "accuracy": round(float(np.trace(matrix) / matrix.sum()), 4)}
    if recipe.task not in IMAGE_TASKS or recipe.eval_random:
        return None
    image_shape = ctx.data.images(recipe.data).image_shape
    layout = subject.spec.input.layout if subject.spec.input else "channels_first"
    count = min(IMAGES, len(rows))
    originals = _as_images(data.eval_targets[:count], image_shape, layout)
    made = _as_images(rows[:count], image_shape, layout)
    shown = [("held-out image", originals), (f"{subject.label}'s output", made)]
    if recipe.task == "denoise":
        noisy = _as_images(np.asarray(data.eval_inputs[:count]).reshape(count, -1), image_shape, layout)
        shown = [("noisy input", noisy), ("clean image", originals), (f"{subject.label}'s output", made)]
    if any(found is None for _, found in shown):
        return None
    low, high = float(originals.min()), float(originals.max())  # every row on the originals' scale
    high = high if high - low > 1e-6 else low + 1.0
    figure = _base("reconstructions", subject, source, f"{subject.label}: held-out images and its outputs, {source}")
    return {**figure, "rows": [{"label": label, "images": _pixels(found, low, high)} for label, found in shown],
            "range": [round(low, 4), round(high, 4)]}


def _finite(values) -> list:
    return [round(float(v), 6) if np.isfinite(v) else None for v in values]


def brief_training(ctx, measured: TrainingRuns) -> dict:
    """The losses of each brief training run (seed, held-out metric, the worker's header) against the reference's
    calibrated band."""
    subject, recipe_name, runs = measured.subject, measured.recipe, measured.runs
    recipe = ctx.assignment.recipe(recipe_name)
    threshold = ctx.data.threshold(recipe_name)
    entry = ctx.data.calibration(recipe_name)
    curves = []
    for seed, value, header in runs:
        losses = [pair for pair in header.get("losses") or [] if isinstance(pair, (list, tuple)) and len(pair) == 2
                  and all(isinstance(v, (int, float)) for v in pair)]
        losses = losses[:: max(1, -(-len(losses) // LOSS_POINTS))]
        curves.append({"seed": seed, "value": round(float(value), 6), "steps": [int(s) for s, _ in losses],
                       "losses": _finite(v for _, v in losses)})
    figure = _base("training", subject, recipe_name, f"{subject.label}: brief training ({recipe.budget()}), "
                                                     "against the reference's band")
    return {**figure, "loss": recipe.loss, "metric": threshold.metric, "pass_if": threshold.pass_if,
            "threshold": threshold.value, "reference": _finite(entry.get("values", [])),
            "trivial": {name: round(float(v), 6) for name, v in entry.get("trivial", {}).items()}, "runs": curves}


def code_scatter(measured: ScoredWeights) -> dict | None:
    """The 2-D codes of held-out images the encoder with the submitted weights gave, with their labels."""
    if measured.codes is None:
        return None
    subject, file, data = measured.subject, measured.file, measured.outputs.data
    codes = np.asarray(measured.codes, np.float64)
    count = len(codes)
    if codes.shape != (count, 2) or not np.isfinite(codes).all():
        return None
    figure = _base("scatter", subject, file, f"{subject.label}: the 2-D codes of {count} held-out images, with "
                                             f"the weights in {file}, coloured by class")
    return {**figure, "points": np.round(codes, 5).tolist(),
            "labels": np.asarray(data.eval_labels[:count]).astype(int).tolist()}


def first_layer_filters(ctx, measured: ScoredWeights) -> dict | None:
    """The first convolution's filters in the submitted weight file: the first 4-D tensor of the file's tensors
    whose input channels are the images' channels."""
    subject, file = measured.subject, measured.file
    channels = ctx.data.images(ctx.assignment.recipe(measured.outputs.recipe).data).image_shape[0]
    weight = next((v for v in (measured.state or {}).values() if v.ndim == 4 and v.shape[1] == channels), None)
    if weight is None:
        return None
    values = weight[:FILTERS].detach().float().numpy()
    values = values.transpose(0, 2, 3, 1) if channels == 3 else values[:, 0]
    if not np.isfinite(values).all():
        return None
    figure = _base("filters", subject, file, f"{subject.label}: the first convolution's {len(values)} filters "
                                             f"{'(of ' + str(len(weight)) + ') ' if len(weight) > FILTERS else ''}"
                                             f"in {file}")
    return {**figure, "filters": np.round(values, 5).tolist(), "total": int(len(weight))}
