"""Brief, budgeted, seeded training of a model with a recipe, and batched prediction.

This module runs wherever the model's code runs: in the trusted process for
the reference models, in the sandbox worker for a student's. It sees training
data only; held-out labels and expected answers never reach it. Every loop is
bounded by the recipe's step count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .recipes import Recipe

LOG_EVERY = 25


class OutputShapeError(ValueError):
    """A model's output cannot be read as the batch the task needs."""


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
        return torch.optim.Adam(parameters, lr=recipe.lr, eps=recipe.eps, weight_decay=recipe.weight_decay)
    return torch.optim.SGD(parameters, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)


def training_loss(loss: str, rows: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The recipe's loss between output rows and target rows (or class labels)."""
    if loss in ("cross_entropy", "nll"):  # cross-entropy on log-probabilities is their NLL
        return F.cross_entropy(rows, targets)
    if loss == "bce":
        return F.binary_cross_entropy(rows.clamp(1e-7, 1 - 1e-7), targets)
    return F.mse_loss(rows, targets)


@dataclass
class TrainingLog:
    steps_done: int = 0
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) every LOG_EVERY steps
    stopped: str | None = None  # why training stopped early, if it did


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator):
    """Index batches for ``steps`` steps: seeded epochs, last partial batch of an epoch dropped;
    ``batch_size`` 0 is the whole set every step."""
    if batch_size == 0:
        for _ in range(steps):
            yield torch.arange(n)
        return
    batch_size = min(batch_size, n)
    done = 0
    while done < steps:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start : start + batch_size]
            done += 1
            if done == steps:
                return


CHUNK_STEPS = 50  # steps of batch indices (and input noise) drawn and moved to the device at once
CHUNK_BYTES = 64 << 20  # at most this much of indices and input noise per chunk


def _step_data(inputs: torch.Tensor, recipe: Recipe, generator: torch.Generator, device):
    """Per step: the batch's indices and its input noise (None without noise), on ``device``.

    They are drawn on the CPU from ``generator`` in the order a step-by-step loop draws them (an epoch's
    permutation, then each step's noise), so the numbers do not depend on the device or on the chunking; but
    they reach the device a chunk of steps at a time: a copy from the host per step would make the host wait
    for the device at every step, which is most of the time of a small model's step on a GPU.
    """
    item = tuple(inputs.shape[1:])
    batch = len(inputs) if recipe.batch_size == 0 else min(recipe.batch_size, len(inputs))
    element = torch.finfo(torch.get_default_dtype()).bits // 8
    step_bytes = batch * 8 + (batch * max(1, inputs[0].numel()) * element if recipe.noise_std else 0)
    chunk = max(1, min(CHUNK_STEPS, CHUNK_BYTES // step_bytes))
    indices, noises = [], []
    for index in _batches(len(inputs), recipe.batch_size, recipe.steps, generator):
        indices.append(index)
        if recipe.noise_std:
            noises.append(torch.randn((len(index), *item), generator=generator, device="cpu"))
        if len(indices) == chunk:
            yield from _moved(indices, noises, device)
            indices, noises = [], []
    yield from _moved(indices, noises, device)


def _moved(indices: list, noises: list, device):
    if not indices:
        return
    index_rows = torch.stack(indices).to(device)
    noise_rows = torch.stack(noises).to(device) if noises else None
    for step in range(len(indices)):
        yield index_rows[step], None if noise_rows is None else noise_rows[step]


def _step_loss(forward, recipe: Recipe, x, y, noise):
    inputs = x
    if noise is not None:
        inputs = x + recipe.noise_std * noise
        inputs = inputs.clamp(0, 1) if recipe.clip else inputs
    output = forward(inputs)
    if recipe.task == "classify":
        return training_loss(recipe.loss, as_rows(output, len(x)), y)
    return training_loss(recipe.loss, as_rows(output, len(x), x[0].numel()), x.reshape(len(x), -1))


def fit(
    model: torch.nn.Module,
    recipe: Recipe,
    inputs: torch.Tensor,
    labels: torch.Tensor | None,
    *,
    device: torch.device,
    seed: int,
    forward=None,
) -> TrainingLog:
    """Train ``model`` in place for ``recipe.steps`` steps on ``inputs`` shaped as the model takes them.

    Batch order and input noise come from a generator seeded with ``seed``; the
    caller seeds the model's initialisation. ``forward`` replaces ``model(x)``
    (a Keras model is called with ``training=True``). Training stops early, and
    says so, if the loss stops being finite.
    """
    generator = torch.Generator().manual_seed(seed)
    model.to(device).train()
    forward = forward or model
    optimizer = make_optimizer(recipe, model.parameters())
    log = TrainingLog()
    # On a GPU the data goes over once, batch indices and noise a chunk of steps at a time, and the loss is read
    # back only every LOG_EVERY steps: a small model's step is over in microseconds, so a copy or a host round
    # trip per step would be most of the time.
    inputs = inputs.to(device)
    labels = labels.to(device) if labels is not None else None
    check_every = 1 if torch.device(device).type == "cpu" else LOG_EVERY
    for index, noise in _step_data(inputs, recipe, generator, device):
        x = inputs[index]
        y = labels[index] if labels is not None else None
        optimizer.zero_grad(set_to_none=True)
        loss = _step_loss(forward, recipe, x, y, noise)
        if (log.steps_done + 1) % check_every == 0 and not torch.isfinite(loss):
            log.stopped = f"the loss became {loss.item()} at step {log.steps_done + 1}"
            break
        loss.backward()
        optimizer.step()
        log.steps_done += 1
        if log.steps_done % LOG_EVERY == 0 or log.steps_done == recipe.steps:
            log.losses.append((log.steps_done, loss.item()))
    if log.stopped is None and log.steps_done and check_every > 1 and not torch.isfinite(loss):
        log.stopped = f"the loss became {loss.item()} by step {log.steps_done}"
    model.eval()
    return log


@torch.no_grad()
def predict(model: torch.nn.Module, inputs: torch.Tensor, *, device: torch.device, batch_size: int = 500,
            call=None) -> torch.Tensor:
    """The model's outputs for ``inputs`` (N, ...), in eval mode, as float32 rows on the CPU.

    ``call`` replaces ``model(x)`` (e.g. ``decoder(encoder(x))``); the model is still moved and put in eval mode.
    """
    model.to(device).eval()
    call = call or model
    rows = []
    for start in range(0, len(inputs), batch_size):
        x = inputs[start : start + batch_size].to(device)
        rows.append(as_rows(call(x), len(x), prefer=x[0].numel()).float().cpu())
    return torch.cat(rows)
