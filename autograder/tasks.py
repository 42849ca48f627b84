"""What a recipe trains on, what it is scored on, and the trivial answers it must beat.

Runs in the trusted process. ``TaskData`` splits what may be sent to a worker
(training images and labels, held-out inputs) from what never leaves the
trusted side (held-out targets and labels). Scores are errors, lower is
better: the MSE of a reconstruction, or 1 - accuracy of a classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .datasets import Dataset
from .recipes import Recipe
from .training import DATA_SEED, images_as_float, subset_index

EVAL_NOISE_SEED = 1234  # the held-out noise of "denoise" recipes, fixed for everyone


@dataclass(frozen=True)
class TaskData:
    train_images: torch.Tensor  # (N, 1, H, W) in [0, 1]: may go to the worker
    train_labels: torch.Tensor  # may go to the worker (training needs them)
    eval_inputs: torch.Tensor  # may go to the worker
    eval_targets: torch.Tensor  # trusted only: clean images (N, D)
    eval_labels: torch.Tensor  # trusted only


def task_data(recipe: Recipe, dataset: Dataset) -> TaskData:
    train = dataset.train.take(subset_index(len(dataset.train), recipe.train_samples, DATA_SEED))
    test = dataset.test.take(subset_index(len(dataset.test), recipe.eval_samples, DATA_SEED))
    train_images = images_as_float(train.images, dataset.pixel_max)
    eval_images = images_as_float(test.images, dataset.pixel_max)
    eval_inputs = eval_images
    if recipe.task == "denoise":
        generator = torch.Generator().manual_seed(EVAL_NOISE_SEED)
        eval_inputs = eval_images + recipe.noise_std * torch.randn(eval_images.shape, generator=generator)
    return TaskData(
        train_images=train_images,
        train_labels=torch.from_numpy(train.labels),
        eval_inputs=eval_inputs,
        eval_targets=eval_images.reshape(len(eval_images), -1),
        eval_labels=torch.from_numpy(test.labels),
    )


def metric_name(recipe: Recipe) -> str:
    return "accuracy" if recipe.task == "classify" else "reconstruction MSE"


def error(recipe: Recipe, data: TaskData, outputs: torch.Tensor) -> float:
    """The held-out error of ``outputs`` (rows, one per held-out input)."""
    if recipe.task == "classify":
        return 1.0 - float((outputs.argmax(dim=1) == data.eval_labels).float().mean())
    return float(F.mse_loss(outputs.reshape(data.eval_targets.shape), data.eval_targets))


def as_metric(recipe: Recipe, err: float) -> float:
    """An error in the unit students read: accuracy for classifiers, MSE otherwise."""
    return 1.0 - err if recipe.task == "classify" else err


def trivial_errors(recipe: Recipe, data: TaskData) -> dict[str, float]:
    """Errors of answers that ignore the input: the bar a trained model must clearly beat."""
    if recipe.task == "classify":
        majority = torch.bincount(data.train_labels).argmax()
        return {"majority class": 1.0 - float((data.eval_labels == majority).float().mean())}
    mean_image = data.train_images.reshape(len(data.train_images), -1).mean(dim=0)
    return {"mean training image": float(F.mse_loss(mean_image.expand_as(data.eval_targets), data.eval_targets))}


def comparison_errors(recipe: Recipe, data: TaskData) -> dict[str, float]:
    """Errors worth reporting beside a denoiser's, not thresholds: returning the noisy input.

    A 2-D bottleneck cannot carry the detail that the noisy input keeps, so an
    autoencoder with such a code need not beat these; the trivial bar stays the
    mean image.
    """
    if recipe.task != "denoise":
        return {}
    noisy = data.eval_inputs.reshape(data.eval_targets.shape)
    return {
        "the noisy input itself": float(F.mse_loss(noisy, data.eval_targets)),
        "the noisy input, clipped to [0, 1]": float(F.mse_loss(noisy.clamp(0, 1), data.eval_targets)),
    }
