"""Keras 3 models (PyTorch backend) as the grader sees them, in the worker.

On the PyTorch backend a ``keras.Model`` is also a ``torch.nn.Module``: its
parameters train with a torch optimizer and it is called on torch tensors, so
training, prediction and Jacobians use the same code as torch models. What
differs is read here: the layers (from the calls the model makes, in order,
each Dense or Conv layer followed by its activation), the loss and optimizer it
was compiled with, and a fresh copy with new weights (``clone_model``).

``capture_fit`` wraps ``keras.Model.fit``: every call is cut after a budget of
batches by a callback (the history is still filled to the epochs asked for, so
a sweep loop goes on and a plot of it against its epochs still draws)
and recorded: the model, what it was fit on (noise level and clipping of the
inputs against the targets), where in the notebook it ran.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from ..common.operations import NONLINEARITIES, keras_activation, unknown

# Keras layer class -> (op name of the torch vocabulary, settings read from the config)
_LAYERS = {
    "Dense": "Linear",
    "Conv2D": "Conv2d",
    "Conv2DTranspose": "ConvTranspose2d",
    "MaxPooling2D": "MaxPool2d",
    "AveragePooling2D": "AvgPool2d",
    "UpSampling2D": "Upsample",
    "Flatten": "Flatten",
    "Reshape": "Unflatten",
    "Dropout": "Dropout",
    "BatchNormalization": "BatchNorm",
    "ReLU": "ReLU",
    "LeakyReLU": "LeakyReLU",
    "Softmax": "Softmax",
    "GaussianNoise": "GaussianNoise",
}


def keras_module():
    return sys.modules.get("keras")


def use_own_home() -> None:
    """Keras chooses its folder (``~/.keras``, or ``/tmp/.keras``) when imported: in a warm template, as the
    template. A worker forked from it keeps its files in its own home, as a worker that imports Keras does."""
    config = sys.modules.get("keras.src.backend.config")
    if config is not None and not os.environ.get("KERAS_HOME"):
        config._KERAS_DIR = os.path.join(os.path.expanduser("~"), ".keras")


def is_keras_model(value) -> bool:
    keras = keras_module()
    return keras is not None and isinstance(value, keras.Model)


def is_keras_model_class(value) -> bool:
    keras = keras_module()
    return keras is not None and isinstance(value, type) and issubclass(value, keras.Model)


def _activation_name(activation) -> str | None:
    name = getattr(activation, "__name__", None) or str(activation)
    return None if name in ("linear", "None") else name


def _shape(value) -> list | None:
    shape = getattr(value, "shape", None)
    return [int(d) if d is not None else -1 for d in shape] if shape is not None else None


def _settings(layer, kind: str, inputs) -> dict:
    config = layer.get_config()
    in_shape = _shape(inputs)
    if kind == "Linear":
        return {"in_features": in_shape[-1] if in_shape else None, "out_features": config["units"]}
    if kind in ("Conv2d", "ConvTranspose2d"):
        channels_last = config.get("data_format", "channels_last") == "channels_last"
        in_channels = in_shape[-1 if channels_last else 1] if in_shape else None
        kernel = config["kernel_size"]
        stride = config["strides"]
        return {"in_channels": in_channels, "out_channels": config["filters"],
                "kernel_size": kernel[0] if len(set(kernel)) == 1 else list(kernel),
                "stride": stride[0] if len(set(stride)) == 1 else list(stride), "padding": config["padding"]}
    if kind in ("MaxPool2d", "AvgPool2d"):
        size, strides = config["pool_size"], config["strides"] or config["pool_size"]
        return {"kernel_size": size[0] if len(set(size)) == 1 else list(size),
                "stride": strides[0] if len(set(strides)) == 1 else list(strides), "padding": config["padding"]}
    if kind == "Upsample":
        size = config["size"]
        return {"scale_factor": size[0] if len(set(size)) == 1 else list(size),
                "mode": config.get("interpolation", "nearest")}
    if kind == "Dropout":
        return {"p": config.get("rate")}
    if kind == "GaussianNoise":
        return {"stddev": config.get("stddev")}
    return {}


# Keras layer classes that are an activation of the vocabulary, or that change nothing at inference
KNOWN_KERAS = {"Activation", *NONLINEARITIES, "InputLayer", "Normalization", "Rescaling", "Identity"}


def trace_keras(model, run) -> list[dict]:
    """The layers ``run()`` calls, in call order, as the torch tracer reports ops: a Dense layer with an
    activation is a Linear followed by that activation."""
    keras = keras_module()
    ops: list[dict] = []
    original = keras.layers.Layer.__call__
    depth = [0]

    def call(layer, *args, **kwargs):
        if isinstance(layer, keras.Model) or type(layer).__name__ == "InputLayer":
            return original(layer, *args, **kwargs)
        depth[0] += 1
        try:
            output = original(layer, *args, **kwargs)
        finally:
            depth[0] -= 1
        if depth[0] == 0:
            kind = _LAYERS.get(type(layer).__name__, type(layer).__name__)
            if kind == "Activation":
                kind = keras_activation(_activation_name(layer.activation)) or "Identity"
            elif kind not in _LAYERS.values() and kind not in KNOWN_KERAS:
                kind = unknown(kind)
            inputs = args[0] if args else None
            ops.append({"op": kind, "settings": _settings(layer, kind, inputs), "via": "keras",
                        "name": layer.name, "bias": bool(getattr(layer, "use_bias", False)),
                        "in_shape": _shape(inputs), "out_shape": _shape(output)})
            activation = _activation_name(getattr(layer, "activation", None)) if kind != "Activation" else None
            if keras_activation(activation) and kind in ("Linear", "Conv2d", "ConvTranspose2d"):
                ops.append({"op": keras_activation(activation), "settings": {}, "via": "keras",
                            "name": f"{layer.name}.activation", "in_shape": _shape(output),
                            "out_shape": _shape(output)})
        return output

    keras.layers.Layer.__call__ = call
    try:
        run()
    finally:
        keras.layers.Layer.__call__ = original
    return ops


def compiled(model) -> dict:
    """What the model was compiled with: loss and optimizer names, learning rate; empty if not compiled."""
    optimizer = getattr(model, "optimizer", None)
    loss = getattr(model, "loss", None)
    if optimizer is None and loss is None:
        return {}
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or (loss if isinstance(loss, str) else
                                                                                type(loss).__name__)
    learning_rate = None
    try:
        learning_rate = float(np.asarray(optimizer.learning_rate)) if optimizer is not None else None
    except (TypeError, ValueError, AttributeError):
        pass
    return {"loss": str(name), "optimizer": type(optimizer).__name__ if optimizer is not None else None,
            "learning_rate": learning_rate}


def describe_keras(model) -> dict:
    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        config = layer.get_config()
        layers.append({"name": layer.name, "type": type(layer).__name__, "units": config.get("units"),
                       "activation": _activation_name(getattr(layer, "activation", None)),
                       "parameters": int(layer.count_params())})
    return {"framework": "keras", "parameters": int(model.count_params()), "keras_layers": layers,
            "compiled": compiled(model)}


def _reinitialise(model) -> None:
    """New weights from each layer's own initialisers (a kernel and a bias, where it has them)."""
    for layer in model._flatten_layers(include_self=False):
        for name in ("kernel", "bias", "gamma", "beta"):
            variable = getattr(layer, name, None)
            initializer = getattr(layer, f"{name}_initializer", None)
            if variable is not None and initializer is not None and hasattr(variable, "assign"):
                variable.assign(initializer(variable.shape, dtype=variable.dtype))


def fresh_copy(model, seed: int):
    """The same architecture with new weights: cloned; a subclassed model that can be neither cloned nor copied
    (it has no config) has its own layers initialised again, in place (what it had learnt is not needed again:
    the grader trains it from scratch)."""
    keras = keras_module()
    keras.utils.set_random_seed(seed)
    try:
        return keras.models.clone_model(model)
    except Exception:  # noqa: BLE001 - a subclassed model clone_model cannot rebuild
        _reinitialise(model)
        return model


def dense_widths(model) -> list[int]:
    """The widths of a model's Dense layers, in order: how a notebook's models are told apart."""
    return [int(layer.units) for layer in model.layers if type(layer).__name__ == "Dense"]


# ---------------------------------------------------------------- fit: capped and recorded


@dataclass
class FitRecord:
    model: object
    cell: int | None  # the notebook cell that called fit (None in a .py file)
    summary: dict = field(default_factory=dict)  # plain data about what it was fit on


SUMMARY_ROWS = 2000
NOISE_FACTORS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def _array(value):
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001
        return None
    return array if array.dtype.kind in "fiub" else None


def fit_summary(x, y) -> dict:
    """What a fit call trained on, as plain numbers: sizes, and when inputs and targets differ (a denoising
    autoencoder), the spread of their difference and whether the inputs were clipped to [0, 1]."""
    xs, ys = _array(x), _array(y)
    summary = {"samples": int(len(xs)) if xs is not None and xs.ndim else None}
    if xs is None or ys is None or xs.shape != ys.shape:
        return {**summary, "same_target": False, "comparable": False}
    if xs is ys or np.shares_memory(xs, ys) and np.array_equal(xs, ys):
        return {**summary, "same_target": True, "comparable": True}
    xs, ys = xs[:SUMMARY_ROWS].astype(np.float64), ys[:SUMMARY_ROWS].astype(np.float64)  # enough for a noise level
    difference = (xs - ys).reshape(len(xs), -1)
    same = bool(np.allclose(difference, 0))
    # what Gaussian noise of each factor, clipped to [0, 1], spreads to on these targets: to read a factor back
    noise = np.random.default_rng(0).standard_normal(ys.shape)
    clipped = {f"{factor:.2f}": float((np.clip(ys + factor * noise, 0, 1) - ys).std()) for factor in NOISE_FACTORS}
    return {**summary, "same_target": same, "comparable": True,
            "noise_std": float(difference.std()), "noise_mean": float(difference.mean()),
            "inputs_min": float(xs.min()), "inputs_max": float(xs.max()),
            "targets_min": float(ys.min()), "targets_max": float(ys.max()), "clipped_std": clipped}


def _complete(history, epochs: int) -> None:
    """A history cut short by the step budget, filled up to the epochs asked for with its last values: the cut
    changes how many steps ran, never the length of what the student's code reads (``history.history['loss']``
    plotted against ``range(epochs)``)."""
    try:
        logs = getattr(history, "history", None)
        if not isinstance(logs, dict) or epochs > 100_000:
            return
        for values in logs.values():
            if isinstance(values, list) and values and len(values) < epochs:
                values.extend([values[-1]] * (epochs - len(values)))
        epoch = getattr(history, "epoch", None)
        if isinstance(epoch, list) and epoch and len(epoch) < epochs:
            epoch.extend(range(epoch[-1] + 1, epoch[-1] + 1 + epochs - len(epoch)))
    except (TypeError, ValueError):
        return


class FitCapture:
    """Wraps ``keras.Model.fit``: a step budget per call, and a record of every call."""

    def __init__(self, budget: int, cell=lambda: None):
        self.budget, self.cell = budget, cell
        self.records: list[FitRecord] = []
        self.stopped = 0  # calls cut short by the budget

    def install(self) -> None:
        keras = keras_module()
        if keras is None or getattr(keras.Model.fit, "_grader_capture", False):
            return
        original, capture = keras.Model.fit, self

        class StepBudget(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.steps, self.fired = 0, False

            def on_train_batch_end(self, batch, logs=None):
                self.steps += 1
                if self.steps >= capture.budget and not self.fired:
                    capture.stopped += 1
                    self.fired = True
                if self.fired:
                    self.model.stop_training = True

        def fit(model, x=None, y=None, *args, callbacks=None, **kwargs):
            target = y if y is not None else x
            capture.records.append(FitRecord(model, capture.cell(), fit_summary(x, target)))
            budget = StepBudget()
            callbacks = [*(callbacks or []), budget]
            kwargs.setdefault("verbose", 0)
            history = original(model, x, y, *args, callbacks=callbacks, **kwargs)
            if budget.fired:  # the grader's cut, not the student's EarlyStopping: the history keeps its length
                epochs = kwargs.get("epochs", args[1] if len(args) > 1 else 1)
                _complete(history, int(epochs) - int(kwargs.get("initial_epoch", 0)))
            return history

        fit._grader_capture = True
        keras.Model.fit = fit

    def matching(self, match: dict, cells=None) -> list[FitRecord]:
        """The recorded fits (only those made in the notebook cells ``cells = [start, end)``, when given) whose
        model has the Dense widths, or number of Dense layers, asked for; of these, those with inputs that differ
        from the targets (``noisy``) or not. When none has the inputs asked for, ``nth`` picks one by its place
        (a model meant to be fit on noisy inputs but fit without noise is still found by its place)."""
        records = self.records
        if cells is not None:
            records = [r for r in records if r.cell is not None and cells[0] <= r.cell < cells[1]]
        found = []
        for record in records:
            wanted, widths = match.get("widths"), dense_widths(record.model)
            if wanted is not None and widths != list(wanted):
                continue
            if match.get("dense_layers") is not None and len(widths) != match["dense_layers"]:
                continue
            found.append(record)
        noisy = match.get("noisy")
        if noisy is None:
            return found
        chosen = [r for r in found if noisy != r.summary.get("same_target", True)]
        nth = match.get("nth")
        if not chosen and nth is not None and len(found) >= nth:
            return [found[nth - 1]]
        return chosen


capture: FitCapture | None = None
ADAPTED: list[str] = []  # Keras 2 spellings read as Keras 3's, for the feedback


def accept_keras2_lr() -> None:
    """``Adam(lr=0.001)`` is Keras 2's spelling of ``learning_rate``; Keras 3 refuses it. Read it as
    ``learning_rate``, and say so: a library-version difference is not a wrong answer."""
    from keras.src.optimizers import base_optimizer

    original = base_optimizer.BaseOptimizer.__init__
    if getattr(original, "_grader_lr", False):
        return

    def __init__(self, learning_rate=0.001, *args, **kwargs):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
            note = (f"{type(self).__name__}(lr=...) is Keras 2's spelling: Keras 3 calls it learning_rate (and "
                    "refuses lr); it was read as learning_rate here")
            if note not in ADAPTED:
                ADAPTED.append(note)
        original(self, learning_rate, *args, **kwargs)

    __init__._grader_lr = True
    base_optimizer.BaseOptimizer.__init__ = __init__


def _on_keras_import() -> None:
    capture.install()
    accept_keras2_lr()


def install_fit_capture(budget: int, cell=lambda: None) -> FitCapture:
    """Install the capture (and Keras 2's ``lr``) when Keras is first imported (Keras costs seconds to import:
    never before)."""
    global capture
    capture = FitCapture(budget, cell)
    from .importer import after_import

    after_import("keras", lambda module: _on_keras_import())
    return capture
