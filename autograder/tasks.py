"""What a recipe trains on, how its outputs are scored, and the trivial answers it must beat.

Runs in the trusted process. ``TaskData`` splits what may be sent to a worker
(training inputs and, for a classifier, training labels; held-out inputs) from
what never leaves the trusted side (held-out targets and labels). Scores are
errors, lower is better; ``metric`` turns one into the number students read
(an MSE, an accuracy, a ROC AUC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .common.recipes import Recipe
from .datasets.declared import ImageData, as_model_input

DATA_SEED = 0  # which samples a recipe's subsets hold: the same for every model seed
EVAL_NOISE_SEED = 1234  # the held-out noise of "denoise" recipes, fixed for everyone
BCE_EPS = 1e-7  # predictions clipped as Keras and torch clip them


@dataclass(frozen=True)
class TaskData:
    train_inputs: np.ndarray  # (N, *input shape): may go to the worker
    train_labels: np.ndarray | None  # a classifier's training labels: may go to the worker
    eval_inputs: np.ndarray  # may go to the worker
    eval_targets: np.ndarray  # trusted only: rows the outputs are compared with (N, D)
    eval_labels: np.ndarray  # trusted only: classes, or 1 for an anomaly


def subset_index(n_total: int, n: int, seed: int = DATA_SEED) -> np.ndarray:
    """A seeded choice of ``n`` of ``n_total`` indices (all of them, shuffled, if n is 0 or too big)."""
    order = np.random.default_rng(seed).permutation(n_total)
    return order if n <= 0 or n >= n_total else order[:n]


def _rows(array: np.ndarray) -> np.ndarray:
    return array.reshape(len(array), -1)


def _bce(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    return float(F.binary_cross_entropy(outputs.clamp(BCE_EPS, 1 - BCE_EPS), targets))


class Task:
    """A kind of training: how its data is laid out, scored and bounded from below."""

    name = ""
    pass_if = "at most"

    def metric_name(self, recipe: Recipe) -> str:
        raise NotImplementedError

    def data(self, recipe: Recipe, images: ImageData, shape, layout) -> TaskData:
        train = subset_index(len(images.train_images), recipe.train_samples)
        test = subset_index(len(images.test_images), recipe.eval_samples)
        clean = images.test_images[test]
        if recipe.eval_random:  # random data: what a model that copies anything reconstructs as well
            generator = torch.Generator().manual_seed(EVAL_NOISE_SEED)
            clean = torch.randn((recipe.eval_random, *clean.shape[1:]), generator=generator).numpy()
        inputs = self._eval_inputs(recipe, clean)
        return TaskData(
            train_inputs=as_model_input(images.train_images[train], shape, layout),
            train_labels=images.train_labels[train] if self.name == "classify" else None,
            eval_inputs=as_model_input(inputs, shape, layout),
            eval_targets=_rows(as_model_input(clean, shape, layout)),
            eval_labels=images.test_labels[test][: len(inputs)],
        )  # fmt: skip

    def _eval_inputs(self, recipe: Recipe, clean: np.ndarray) -> np.ndarray:
        return clean

    def error(self, recipe: Recipe, data: TaskData, outputs: np.ndarray) -> float:
        raise NotImplementedError

    def metric(self, err: float) -> float:
        return err

    def trivial_errors(self, recipe: Recipe, data: TaskData) -> dict[str, float]:
        return {}

    def comparison_errors(self, recipe: Recipe, data: TaskData) -> dict[str, float]:
        return {}


class Reconstruct(Task):
    """Input to input. MSE, or binary cross-entropy scored above its floor (the targets' own entropy)."""

    name = "reconstruct"

    def metric_name(self, recipe: Recipe) -> str:
        return "excess BCE (above the images' own entropy)" if recipe.loss == "bce" else "reconstruction MSE"

    def _loss(self, recipe: Recipe, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        if recipe.loss == "bce":
            return _bce(outputs, targets) - _bce(targets, targets)
        return float(F.mse_loss(outputs, targets))

    def error(self, recipe: Recipe, data: TaskData, outputs: np.ndarray) -> float:
        targets = torch.from_numpy(data.eval_targets)
        return self._loss(recipe, torch.from_numpy(np.array(outputs, np.float32)).reshape(targets.shape), targets)

    def trivial_errors(self, recipe: Recipe, data: TaskData) -> dict[str, float]:
        mean_image = torch.from_numpy(_rows(data.train_inputs).mean(axis=0))
        targets = torch.from_numpy(data.eval_targets)
        return {"mean training image": self._loss(recipe, mean_image.expand_as(targets), targets)}


class Denoise(Reconstruct):
    """Noisy input (Gaussian, fixed seed for held-out data, clipped if the recipe says so) to the clean one."""

    name = "denoise"

    def _eval_inputs(self, recipe: Recipe, clean: np.ndarray) -> np.ndarray:
        generator = torch.Generator().manual_seed(EVAL_NOISE_SEED)
        images = torch.from_numpy(clean)
        noisy = images + recipe.noise_std * torch.randn(images.shape, generator=generator)
        return (noisy.clamp(0, 1) if recipe.clip else noisy).numpy()

    def comparison_errors(self, recipe: Recipe, data: TaskData) -> dict[str, float]:
        """Returning the noisy input: worth reporting, not a threshold (a narrow code cannot keep its detail)."""
        noisy = torch.from_numpy(_rows(data.eval_inputs))
        targets = torch.from_numpy(data.eval_targets)
        return {
            "the noisy input itself": self._loss(recipe, noisy, targets),
            "the noisy input, clipped to [0, 1]": self._loss(recipe, noisy.clamp(0, 1), targets),
        }


class Classify(Task):
    name = "classify"
    pass_if = "at least"

    def metric_name(self, recipe: Recipe) -> str:
        return "accuracy"

    def error(self, recipe: Recipe, data: TaskData, outputs: np.ndarray) -> float:
        predicted = np.asarray(outputs).argmax(axis=1)
        return 1.0 - float((predicted == data.eval_labels).mean())

    def metric(self, err: float) -> float:
        return 1.0 - err

    def trivial_errors(self, recipe: Recipe, data: TaskData) -> dict[str, float]:
        majority = np.bincount(data.train_labels).argmax()
        return {"majority class": 1.0 - float((data.eval_labels == majority).mean())}


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The probability that a positive scores above a negative (ties count half): the Mann-Whitney U."""
    from scipy.stats import rankdata

    ranks = rankdata(scores)
    n_pos, n_neg = int(positive.sum()), int((~positive.astype(bool)).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    return float((ranks[positive.astype(bool)].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class Anomaly(Task):
    """Trained to reconstruct the inlier classes only; scored by the ROC AUC of the per-sample reconstruction
    error, held-out inliers against every outlier. The labels stay here."""

    name = "anomaly"
    pass_if = "at least"

    def metric_name(self, recipe: Recipe) -> str:
        return "ROC AUC"

    def data(self, recipe: Recipe, images: ImageData, shape, layout) -> TaskData:
        inlier = np.asarray(recipe.inlier)
        train = np.flatnonzero(np.isin(images.train_labels, inlier))
        train = train[subset_index(len(train), recipe.train_samples)]
        held = images.test_images[np.isin(images.test_labels, inlier)]
        outliers = np.concatenate([images.train_images[~np.isin(images.train_labels, inlier)],
                                   images.test_images[~np.isin(images.test_labels, inlier)]])
        inputs = np.concatenate([held, outliers])
        labels = np.concatenate([np.zeros(len(held), np.int64), np.ones(len(outliers), np.int64)])
        order = subset_index(len(inputs), 0)
        model_inputs = as_model_input(inputs[order], shape, layout)
        return TaskData(as_model_input(images.train_images[train], shape, layout), None, model_inputs,
                        _rows(model_inputs), labels[order])

    def scores(self, data: TaskData, outputs: np.ndarray) -> np.ndarray:
        return ((_rows(np.asarray(outputs, np.float64)) - data.eval_targets) ** 2).mean(axis=1)

    def error(self, recipe: Recipe, data: TaskData, outputs: np.ndarray) -> float:
        return 1.0 - roc_auc(self.scores(data, outputs), data.eval_labels)

    def metric(self, err: float) -> float:
        return 1.0 - err

    def trivial_errors(self, recipe: Recipe, data: TaskData) -> dict[str, float]:
        """Chance, and a detector with no model at all: the distance to the mean training (inlier) image, which
        an autoencoder that ignores its input and outputs that mean reaches too."""
        mean_image = _rows(data.train_inputs).mean(axis=0)
        distance = ((data.eval_targets - mean_image) ** 2).mean(axis=1)
        return {"chance": 0.5, "the distance to the mean training image": 1.0 - roc_auc(distance, data.eval_labels)}


TASKS: dict[str, Task] = {task.name: task for task in (Reconstruct(), Denoise(), Classify(), Anomaly())}


def task_of(recipe: Recipe) -> Task:
    return TASKS[recipe.task]


def pca_error(data: TaskData, components: int) -> float:
    """The held-out MSE of the best linear reconstruction through ``components`` dimensions (PCA fitted on
    the training inputs): what a converged linear autoencoder of that width reaches."""
    train = _rows(data.train_inputs).astype(np.float64)
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis = vt[:components]
    centred = data.eval_targets.astype(np.float64) - mean
    reconstruction = centred @ basis.T @ basis + mean
    return float(((reconstruction - data.eval_targets) ** 2).mean())
