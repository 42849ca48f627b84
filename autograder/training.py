"""Brief, budgeted, seeded training of a model with a recipe, and batched prediction.

This module runs wherever the model's code runs: in the trusted process for
the reference models, in the sandbox worker for a student's. It sees training
data only; held-out labels and expected answers never reach it. Every loop is
bounded by the recipe's step count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .recipes import Recipe

DATA_SEED = 0  # which samples a recipe's subsets hold: the same for every model seed
LOG_EVERY = 25


class OutputShapeError(ValueError):
    """A model's output cannot be read as the batch the task needs."""


def images_as_float(images: np.ndarray, pixel_max: int) -> torch.Tensor:
    """uint8 images (N, H, W) -> float32 tensor (N, 1, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(pixel_max).unsqueeze(1)


def subset_index(n_total: int, n: int, seed: int = DATA_SEED) -> np.ndarray:
    """A seeded choice of ``n`` of ``n_total`` indices (all of them, shuffled, if n is 0 or too big)."""
    order = np.random.default_rng(seed).permutation(n_total)
    return order if n <= 0 or n >= n_total else order[:n]


def preferred_output(outputs: list, size: int | None, count=lambda t: t.numel()):
    """Of the tensors (or arrays) a model returned, the one read as its output: the first with
    ``size`` values when there is one (``(code, reconstruction)`` is a common habit), else the first."""
    sized = [o for o in outputs if size is not None and count(o) == size]
    return (sized or outputs)[0]


def first_tensor(output, size: int | None = None) -> torch.Tensor:
    """The model's output, or the preferred tensor of a tuple/list it returned."""
    if isinstance(output, torch.Tensor):
        return output
    tensors = [item for item in output if isinstance(item, torch.Tensor)] if isinstance(output, (tuple, list)) else []
    if not tensors:
        raise OutputShapeError(f"the model returned {type(output).__name__}, not a tensor")
    return preferred_output(tensors, size)


def as_rows(output, n: int, width: int | None = None, prefer: int | None = None) -> torch.Tensor:
    """Read a model output as ``n`` rows (of ``width`` values, when given; of a tuple, the element
    with ``width`` or else ``prefer`` values per row is read)."""
    per_row = width or prefer
    tensor = first_tensor(output, n * per_row if per_row else None)
    if tensor.numel() == 0 or tensor.numel() % n or (width and tensor.numel() != n * width):
        expected = f"{n} x {width}" if width else f"{n} rows"
        raise OutputShapeError(f"for a batch of {n} the model returned shape {tuple(tensor.shape)}, not {expected}")
    return tensor.reshape(n, -1)


def make_optimizer(recipe: Recipe, parameters) -> torch.optim.Optimizer:
    if recipe.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=recipe.lr)
    return torch.optim.SGD(parameters, lr=recipe.lr, momentum=recipe.momentum)


@dataclass
class TrainingLog:
    steps_done: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) every LOG_EVERY steps
    stopped: str | None = None  # why training stopped early, if it did


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator):
    """Index batches for ``steps`` steps: seeded epochs, last partial batch of an epoch dropped."""
    batch_size = min(batch_size, n)
    done = 0
    while done < steps:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]
            done += 1
            if done == steps:
                return


def _step_loss(model, recipe, x, y, input_shape, generator):
    inputs = x
    if recipe.task == "denoise":
        noise = torch.randn(x.shape, generator=generator, device="cpu").to(x.device)
        inputs = x + recipe.noise_std * noise
    output = model(inputs.reshape(len(x), *input_shape))
    if recipe.task == "classify":
        return F.cross_entropy(as_rows(output, len(x)), y)  # also right for log_softmax outputs
    return F.mse_loss(as_rows(output, len(x), x[0].numel()), x.reshape(len(x), -1))


def fit(
    model: torch.nn.Module,
    recipe: Recipe,
    images: torch.Tensor,
    labels: torch.Tensor | None,
    *,
    input_shape: tuple[int, ...],
    device: torch.device,
    seed: int,
) -> TrainingLog:
    """Train ``model`` in place for ``recipe.steps`` steps on float images (N, 1, H, W).

    Batch order and input noise come from a generator seeded with ``seed``; the
    caller seeds the model's initialisation. Training stops early, and says so,
    if the loss stops being finite.
    """
    generator = torch.Generator().manual_seed(seed)
    model.to(device).train()
    optimizer = make_optimizer(recipe, model.parameters())
    log = TrainingLog()
    for index in _batches(len(images), recipe.batch_size, recipe.steps, generator):
        x = images[index].to(device)
        y = labels[index].to(device) if labels is not None else None
        optimizer.zero_grad(set_to_none=True)
        loss = _step_loss(model, recipe, x, y, input_shape, generator)
        if not torch.isfinite(loss):
            log.stopped = f"the loss became {loss.item()} at step {log.steps_done + 1}"
            break
        loss.backward()
        optimizer.step()
        log.steps_done += 1
        if log.steps_done % LOG_EVERY == 0 or log.steps_done == recipe.steps:
            log.losses.append((log.steps_done, loss.item()))
    model.eval()
    return log


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    inputs: torch.Tensor,
    *,
    input_shape: tuple[int, ...],
    device: torch.device,
    batch_size: int = 500,
    call=None,
) -> torch.Tensor:
    """The model's outputs for ``inputs`` (N, ...), in eval mode, as float32 rows on the CPU.

    ``call`` replaces ``model(x)`` (e.g. ``decoder(encoder(x))``); the model is still moved and put in eval mode.
    """
    model.to(device).eval()
    call = call or model
    rows = []
    for start in range(0, len(inputs), batch_size):
        x = inputs[start : start + batch_size].to(device)
        x = x.reshape(len(x), *input_shape)
        rows.append(as_rows(call(x), len(x), prefer=x[0].numel()).float().cpu())
    return torch.cat(rows)
