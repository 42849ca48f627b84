"""Training a subject with a recipe in the worker, loading its submitted weights, and scoring the outputs on
held-out data here, where the held-out targets and labels stay."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...common.state_dicts import read_state_dict
from ...tasks import Reconstruct, TaskData, task_of
from ...thresholds import Threshold
from .. import limits
from ..locate import Subject
from ..outcomes import CheckFailed, NotGradable
from . import weight_files
from .models import code, probe, usable_input_shape
from .weight_files import trusted_state_dict

AGREEMENT = 1e-3  # largest difference allowed between a batched and a probed output, relative to their scale
EXACTLY_ZERO = 1e-12  # a held-out reconstruction error this small is a copy of the input, not a reconstruction

SEEDS = (0, 1)  # a second seed is tried only when the first falls short, so a correct model is rarely unlucky
CODE_POINTS = 2000  # held-out codes of a 2-D bottleneck measured for the feedback page's scatter


@dataclass(frozen=True)
class Scored:
    """Outputs scored against a calibrated bar."""

    values: tuple[float, ...]  # the metric, per seed tried (one value for submitted weights)
    metric: str
    threshold: Threshold
    budget: str  # "400 steps of 64 (25600 samples), adam lr 0.005"
    bar: str  # what the reference and the trivial answers reach

    def passed(self) -> bool:
        return any(self.threshold.passes(v) for v in self.values)


# ---------------------------------------------------------------- what measuring keeps for the figures
# Plain records of what was measured, kept in the order measured (``GradingContext.keep``); the feedback page's
# figures are made from them after every check ran (``grading/figures.py``), never while measuring.


@dataclass(frozen=True)
class HeldOutOutputs:
    """A model's outputs on a recipe's held-out inputs."""

    subject: Subject
    recipe: str
    data: TaskData
    outputs: np.ndarray
    source: str  # which model it was: "after brief training", "as your code left it", "with the weights in F"


@dataclass(frozen=True)
class TrainingRuns:
    """Each brief training run of a subject (seed, held-out metric, the worker's header with its losses), and the
    outputs of the last run tried."""

    subject: Subject
    recipe: str
    runs: tuple[tuple[int, float, dict], ...]
    last: HeldOutOutputs | None


@dataclass(frozen=True)
class ScoredWeights:
    """A submitted weight file that loaded and was scored: its outputs, the codes of a 2-D bottleneck (None where
    the handout declares none), the file's tensors as read in this process (None where unreadable)."""

    subject: Subject
    file: str
    outputs: HeldOutOutputs
    codes: np.ndarray | None
    state: dict | None


def _layout(subject: Subject) -> str:
    return subject.spec.input.layout if subject.spec.input else "channels_first"


def task_data(ctx, subject: Subject, recipe_name: str, shape) -> TaskData:
    return ctx.data.task_data(recipe_name, shape, _layout(subject))


def predict_part(ctx, subject: Subject, predict: str | None) -> str:
    """How held-out outputs are computed: through the encoder and decoder when the check says so and the
    model has both, else through forward."""
    attributes = probe(ctx, subject).describe["attributes"]
    if predict == "parts" and attributes.get("encoder") and attributes.get("decoder"):
        return "decode_encoded"
    return "forward"


def score(ctx, recipe_name: str, data: TaskData, outputs: np.ndarray) -> float:
    """The held-out metric of ``outputs``; CheckFailed if they cannot be read as one row per input."""
    recipe = ctx.assignment.recipe(recipe_name)
    task = task_of(recipe)
    rows = np.asarray(outputs, np.float32)
    n = len(data.eval_inputs)
    width = data.eval_targets.shape[1] if recipe.task != "classify" else None
    if rows.ndim != 2 or len(rows) != n or (width and rows.shape[1] != width):
        raise CheckFailed(f"the model's outputs for {n} held-out inputs have shape {tuple(rows.shape)}")
    if recipe.task == "classify" and rows.shape[1] < 2:
        raise CheckFailed(f"the model gives {rows.shape[1]} score(s) per input, not one per class")
    if not np.isfinite(rows).all():
        raise CheckFailed("the model's outputs on held-out inputs contain NaN or infinity")
    value = task.metric(task.error(recipe, data, rows))
    if isinstance(task, Reconstruct) and value <= EXACTLY_ZERO:
        raise CheckFailed(f"the model gives back the held-out images exactly (reconstruction error {value:.3g}): "
                          "no autoencoder trained through a narrow code does, so its output is not "
                          "computed through the code (does forward return its input?)")
    return value


def agree(header: dict, label: str) -> None:
    """CheckFailed when the model gave other outputs for the same held-out inputs called as the structure probes
    call it (alone, tracked by autograd) than in the batches it is scored on: a model that notices how it is
    called must not show the probes one function and the scores another. Float noise between a batch and a
    single input is far below the bar; a model normalising by the statistics of its batch at inference is not."""
    found = header.get("agreement") or {}
    difference, scale = found.get("difference"), found.get("scale", 0.0)
    if isinstance(difference, (int, float)) and not difference <= AGREEMENT * max(float(scale), 1.0):
        raise CheckFailed(f"{label} gives other outputs for the same held-out inputs when called one at a time with "
                          f"gradients tracked (as the structure checks call it) than in a batch (largest difference "
                          f"{difference:.3g}): a model must compute the same function however it is called")


def scored_once(ctx, recipe_name: str, value: float) -> Scored:
    """One model's held-out metric (as trained, or from a weight file) against the recipe's calibrated bar."""
    threshold = ctx.data.threshold(recipe_name)
    return Scored((value,), threshold.metric, threshold, "", bar(ctx, recipe_name))


def bar(ctx, recipe_name: str) -> str:
    entry = ctx.data.calibration(recipe_name)
    values = entry["values"]
    trivial = "; ".join(f"{name}: {value:.4g}" for name, value in entry["trivial"].items())
    return (f"the reference reaches {min(values):.4g} to {max(values):.4g} under the same budget; "
            f"answers that ignore the input get {trivial}")


def _budget(ctx, recipe_name: str) -> str:
    recipe = ctx.assignment.recipe(recipe_name)
    return f"{recipe.budget()}, {recipe.optimizer} lr {recipe.lr:g}"


def train_timeout(ctx, recipe_name: str) -> float:
    return limits.training_seconds(ctx.assignment, ctx.assignment.recipe(recipe_name))


def train(ctx, subject: Subject, recipe_name: str, seed: int, predict: str | None = None) -> tuple[float, dict]:
    """Train a fresh instance with the recipe in the worker, predict the held-out inputs, score them here."""
    def measure():
        recipe = ctx.assignment.recipe(recipe_name)
        shape = usable_input_shape(ctx, subject)
        data = task_data(ctx, subject, recipe_name, shape)
        arrays = {"train_inputs": data.train_inputs, "eval_inputs": data.eval_inputs}
        if data.train_labels is not None:
            arrays["train_labels"] = data.train_labels
        header, out = ctx.link.call(
            "train_predict", f"training {subject.label} ({recipe.budget()})", train_timeout(ctx, recipe_name),
            arrays=arrays, model=probe(ctx, subject).ref, recipe=recipe.as_dict(), seed=seed,
            part=predict_part(ctx, subject, predict),
        )  # fmt: skip
        if header.get("stopped"):
            raise CheckFailed(f"training {subject.label} stopped: {str(header['stopped'])[:200]}")
        agree(header, subject.label)
        value = score(ctx, recipe_name, data, out["outputs"])
        ctx.cache[("outputs", key)] = HeldOutOutputs(subject, recipe_name, data, out["outputs"], "after brief training")
        return value, header

    key = _train_key(subject, recipe_name, seed, predict)
    return ctx.memo(key, measure)


def _train_key(subject: Subject, recipe_name: str, seed: int, predict: str | None) -> tuple:
    arguments = tuple(sorted((k, repr(v)) for k, v in subject.kwargs.items()))  # a variant equal to the subject
    return ("train", subject.spec.key, arguments, recipe_name, seed, predict)


def brief_training(ctx, subject: Subject, recipe_name: str, predict: str | None = None) -> Scored:
    """The recipe's metric after brief training; a second seed only when the first falls short."""
    threshold = ctx.data.threshold(recipe_name)
    values, runs = [], []
    for seed in SEEDS:
        value, header = train(ctx, subject, recipe_name, seed, predict)
        values.append(value)
        runs.append((seed, value, header))
        if threshold.passes(value):
            break
    last = ctx.cache.get(("outputs", _train_key(subject, recipe_name, runs[-1][0], predict)))
    ctx.keep(TrainingRuns(subject, recipe_name, tuple(runs), last))
    return Scored(tuple(values), threshold.metric, threshold, _budget(ctx, recipe_name), bar(ctx, recipe_name))


def as_trained(ctx, subject: Subject, recipe_name: str, predict: str | None = None) -> Scored:
    """The model as the submission left it (a notebook's variable after its cells ran), scored on the recipe's
    held-out data against the recipe's bar."""
    def measure():
        shape = usable_input_shape(ctx, subject)
        data = task_data(ctx, subject, recipe_name, shape)
        header, out = ctx.link.call("predict", f"running {subject.label}", arrays={"eval_inputs": data.eval_inputs},
                                    model=probe(ctx, subject).ref, part=predict_part(ctx, subject, predict))
        agree(header, subject.label)
        ctx.data.threshold(recipe_name)  # first: without a bar, not gradable, whatever the outputs
        value = score(ctx, recipe_name, data, out["outputs"])
        ctx.keep(HeldOutOutputs(subject, recipe_name, data, out["outputs"], "as your code left it"))
        return scored_once(ctx, recipe_name, value)

    return ctx.memo(("as trained", subject.key, recipe_name), measure)


# ---------------------------------------------------------------- submitted weights


@dataclass(frozen=True)
class WeightsLoad:
    file: str
    header: dict  # the worker's account: loaded, problem, missing/unexpected/mismatched keys, note
    renamed_from: str | None  # the misnamed file graded under this name
    outputs: np.ndarray | None
    not_predicted: str | None  # why the held-out inputs could not be predicted
    instead_of: str | None = None  # the handout's name of the file, where ``file`` was found by its contents
    in_submission: tuple[str, ...] = ()  # every weight file of the submission, as the student named it


def weights(ctx, subject: Subject, recipe_name: str | None = None, predict: str | None = None) -> WeightsLoad:
    """The submitted weight file (``weight_files.choose``: the handout's name, else the one file that fits)
    loaded into a fresh instance in the worker (weights_only, strict keys), and, given a recipe, its predictions
    of the recipe's held-out inputs (through ``predict``'s part)."""
    def measure():
        spec = subject.spec
        chosen = weight_files.choose(ctx, subject)
        file = chosen.file
        shape = spec.input.shapes[0]
        inputs, why_not = np.zeros((0, *shape), np.float32), "no recipe scores the weights"
        if recipe_name:
            try:
                shape = usable_input_shape(ctx, subject)
                inputs, why_not = task_data(ctx, subject, recipe_name, shape).eval_inputs, None
            except (CheckFailed, NotGradable) as failure:  # the file still loads; only predictions are impossible
                why_not = str(failure)
        header, out = ctx.link.call("weights_predict", f"loading {file} into {spec.name}",
                                    arrays={"eval_inputs": inputs}, model=probe(ctx, subject).ref, weights=file,
                                    part=predict_part(ctx, subject, predict))
        return WeightsLoad(file, header, ctx.submission.renamed.get(file), out.get("outputs"), why_not,
                           chosen.instead_of, chosen.in_submission)

    return ctx.memo(("weights", subject.key, recipe_name, predict), measure)


def weights_score(ctx, subject: Subject, recipe_name: str, predict: str | None = None) -> tuple[WeightsLoad, Scored]:
    """The submitted weights' predictions of the recipe's held-out inputs, scored against its bar."""
    loaded = weights(ctx, subject, recipe_name, predict)
    if not loaded.header["loaded"]:
        raise CheckFailed(f"not checked: {loaded.file} does not load into {subject.spec.name}")
    if loaded.not_predicted:
        if loaded.not_predicted.startswith("not gradable here"):
            raise NotGradable(loaded.not_predicted)
        raise CheckFailed(f"not checked: {loaded.not_predicted}")
    agree(loaded.header, subject.label)
    shape = usable_input_shape(ctx, subject)
    data = task_data(ctx, subject, recipe_name, shape)
    value = score(ctx, recipe_name, data, loaded.outputs)
    outputs = HeldOutOutputs(subject, recipe_name, data, loaded.outputs, f"with the weights in {loaded.file}")
    ctx.keep(ScoredWeights(subject, loaded.file, outputs, held_out_codes(ctx, subject, loaded.file, data),
                           trusted_state_dict(ctx, loaded.file)))
    return loaded, scored_once(ctx, recipe_name, value)


def held_out_codes(ctx, subject: Subject, file: str, data) -> np.ndarray | None:
    """For the feedback page's scatter: the codes the encoder with the submitted weights gives for held-out
    images, one more worker call, made only for an encoder whose code is 2-D (as measured on a few examples);
    None otherwise or when a call fails (a figure never costs a check)."""
    if not probe(ctx, subject).describe["attributes"].get("encoder"):
        return None
    try:
        if tuple(np.shape(code(ctx, subject, 4))) != (4, 2):
            return None
    except (CheckFailed, NotGradable):
        return None
    count = min(CODE_POINTS, len(data.eval_inputs))
    try:
        _, out = ctx.link.call("weights_predict", f"encoding held-out images with {file}",
                               arrays={"eval_inputs": data.eval_inputs[:count]}, model=probe(ctx, subject).ref,
                               weights=file, part="encoder")
    except (CheckFailed, NotGradable):
        return None
    return out.get("outputs")


def trusted_weight_shapes(ctx, subject: Subject) -> dict[str, list[int]] | None:
    """Tensor shapes of the subject's submitted weight file, read in this (trusted) process."""
    present = [name for name in subject.spec.weights if ctx.submission.has(name)]
    state = trusted_state_dict(ctx, present[0]) if present else None
    return None if state is None else {key: list(value.shape) for key, value in state.items()}


def weight_shapes(path: Path, limit: int) -> dict[str, list[int]] | None:
    """The tensor shapes of a weight file, or None when it is unreadable or bigger than ``limit`` bytes, on disk
    or once unpacked (``read_state_dict``)."""
    state, _ = read_state_dict(path, limit)
    return None if state is None else {key: list(value.shape) for key, value in state.items()}


def verified_parameter_count(ctx, subject: Subject) -> int:
    """The worker's parameter count, cross-checked against the submitted weight file read here.

    If the worker's state_dict matches the file but its parameter count does not, the student's code
    tampered with what the model reports, and the file's count is used."""
    describe = probe(ctx, subject).describe
    reported = describe["parameters"]
    shapes = trusted_weight_shapes(ctx, subject)
    if shapes is None or shapes != {k: list(v) for k, v in describe.get("state_keys", {}).items()}:
        return reported
    in_file = sum(math.prod(shape) for shape in shapes.values())
    if in_file != reported:
        ctx.note(f"{subject.spec.name} reported {reported:,} parameters, but its weight file holds {in_file:,} "
                 "values matching its state_dict; the grader counted the file's")
        return in_file
    return reported
