"""Keras 3 models (PyTorch backend) as the grader sees them, in the worker.

On the PyTorch backend a ``keras.Model`` is also a ``torch.nn.Module``: its
parameters train with a torch optimizer and it is called on torch tensors, so
training, prediction and Jacobians use the same code as torch models. What
differs is read here: the layers (from the calls the model makes, in order,
each Dense or Conv layer followed by its activation), the loss and optimizer it
was compiled with, and a fresh copy with new weights (``clone_model``).

How ``fit`` is capped and recorded is ``keras_fit.py``'s.
"""

from __future__ import annotations

import os
import sys

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
