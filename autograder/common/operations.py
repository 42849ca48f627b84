"""The vocabulary of operations both tracers report (torch's ``worker/trace.py``, Keras' ``keras_support``) and
the checks read: layer types, activations, shape operations.

An operation outside it is reported as ``Unknown:<name>`` and counts as possibly
nonlinear: a check that needs the model to be linear then measures it
numerically instead of passing it (``f(a) + f(b) - f(0) = f(a + b)``).
"""

from __future__ import annotations

WEIGHTED = frozenset({"Conv2d", "ConvTranspose2d", "Linear"})
NONLINEARITIES = frozenset({
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "ELU", "GELU", "SiLU", "Softmax", "LogSoftmax", "SELU", "Softplus",
    "PReLU", "Mish", "Hardswish", "Hardsigmoid", "Hardtanh", "ReLU6", "LogSigmoid", "CELU", "Softsign",
    "Tanhshrink", "Softshrink", "Hardshrink", "GLU", "Threshold", "RReLU", "Softmin", "Exp",
})  # fmt: skip
SHAPE_OPS = frozenset({"Flatten", "Unflatten", "Identity", "Reshape", "add", "cat"})
REGULARISERS = frozenset({"Dropout", "GaussianNoise"})  # nothing at inference
UNKNOWN = "Unknown:"

# Activation names as Keras writes them -> the vocabulary ("linear": none at all)
KERAS_ACTIVATIONS = {
    "relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "elu": "ELU", "gelu": "GELU",
    "silu": "SiLU", "swish": "SiLU", "leaky_relu": "LeakyReLU", "selu": "SELU", "softplus": "Softplus",
    "log_softmax": "LogSoftmax", "softsign": "Softsign", "hard_sigmoid": "Hardsigmoid", "hard_silu": "Hardswish",
    "hard_swish": "Hardswish", "mish": "Mish", "relu6": "ReLU6", "log_sigmoid": "LogSigmoid", "celu": "CELU",
    "exponential": "Exp", "glu": "GLU", "hard_tanh": "Hardtanh", "linear": None,
}  # fmt: skip


def unknown(name: str) -> str:
    return f"{UNKNOWN}{name}"


def nonlinear(op: str) -> bool:
    """A known activation, or an operation the tracers do not know (possibly nonlinear)."""
    return op in NONLINEARITIES or op.startswith(UNKNOWN)


def is_unknown(op: str) -> bool:
    return op.startswith(UNKNOWN)


def keras_activation(name: str | None) -> str | None:
    """The vocabulary's name of a Keras activation; None for "linear" (or none); Unknown:<name> otherwise."""
    if not name:
        return None
    return KERAS_ACTIVATIONS[name] if name in KERAS_ACTIVATIONS else unknown(name)
