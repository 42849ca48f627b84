"""Checks of Keras models as a notebook compiled and trained them."""

from __future__ import annotations

import numpy as np

from ...results import Verdict
from .expected import Expected

LOSS_NAMES = {"binary_crossentropy": {"binary_crossentropy", "BinaryCrossentropy", "bce"},
              "mse": {"mse", "mean_squared_error", "MeanSquaredError"},
              "categorical_crossentropy": {"categorical_crossentropy", "CategoricalCrossentropy"}}


def check_compiled_with(compiled: dict, expected: Expected) -> Verdict:
    if not compiled:
        return Verdict(False, f"{expected.name} was not compiled (model.compile(optimizer=..., loss=...))")
    problems = []
    loss = expected.get("loss")
    if loss and compiled.get("loss") not in LOSS_NAMES.get(loss, {loss}):
        problems.append(f"the loss is {compiled.get('loss')}, not {loss}")
    optimizer = expected.get("optimizer")
    if optimizer and str(compiled.get("optimizer", "")).lower() != optimizer.lower():
        problems.append(f"the optimizer is {compiled.get('optimizer')}, not {optimizer}")
    if problems:
        return Verdict(False, f"{expected.name}: {'; '.join(problems)}")
    return Verdict(True, f"{expected.name} is compiled with loss {compiled.get('loss')} and optimizer "
                         f"{compiled.get('optimizer')}")


def noise_factor(fit: dict) -> float:
    """The noise factor the inputs' spread around the targets shows: read back through the spread that clipped
    Gaussian noise of known factors gives on the same targets (without clipping, the spread itself)."""
    found = fit["noise_std"]
    clipped = fit["inputs_min"] >= -1e-6 and fit["inputs_max"] <= 1 + 1e-6
    table = sorted((s, float(f)) for f, s in fit.get("clipped_std", {}).items())
    if not clipped or len(table) < 2:
        return found
    spreads, factors = zip(*table, strict=True)
    return float(np.interp(found, spreads, factors))


def check_fit_noise(fit: dict, expected: Expected) -> Verdict:
    """``fit``: what the model was fit on (the spread of inputs minus targets, the inputs' range)."""
    if not fit or not fit.get("comparable"):
        return Verdict(False, f"{expected.name} was not fit on inputs and targets of the same shape")
    if fit.get("same_target"):
        return Verdict(False, f"{expected.name} was fit with the targets as inputs: no noise was added. Train on "
                              "noisy inputs and clean targets: fit(x_noisy, x_clean)")
    wanted, tolerance = expected["noise_std"], expected.get("tolerance", 0.05)
    factor = noise_factor(fit)
    problems = []
    if expected.get("clipped", True) and (fit["inputs_min"] < -1e-6 or fit["inputs_max"] > 1 + 1e-6):
        problems.append(f"the noisy inputs range from {fit['inputs_min']:.3g} to {fit['inputs_max']:.3g}: they are "
                        "not clipped to [0, 1] (np.clip(x_noisy, 0.0, 1.0))")
    if abs(factor - wanted) > tolerance:
        problems.append(f"the inputs differ from the targets as Gaussian noise of factor {factor:.2f} does, not "
                        f"{wanted:g}")
    if problems:
        return Verdict(False, f"{expected.name}: {'; '.join(problems)}")
    return Verdict(True, f"{expected.name} is fit on noisy inputs (noise factor {factor:.2f}, clipped to [0, 1]) and "
                         "clean targets")
