"""Record the layers a forward pass runs, in order, however the model is written.

Modules are seen through forward hooks, function calls (``F.relu``,
``torch.sigmoid``, ``x.relu()``, ``F.interpolate``, ``F.max_pool2d``...) through
a ``TorchFunctionMode``. A matrix product with a parameter (``x @ W.T + b``,
``torch.addmm(b, x, W)``) is a linear layer however it is written. Calls made
inside a known layer module are not recorded again. Each op comes out as plain data: its type in module terms
(``ReLU``, ``Upsample``...), the settings that define it, and the shapes of its
first input and of its output.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from ..common.operations import unknown

# Module classes that are layers, and the settings that define them.
LAYER_MODULES = {
    nn.Conv2d: ("Conv2d", ("in_channels", "out_channels", "kernel_size", "stride", "padding")),
    nn.ConvTranspose2d: ("ConvTranspose2d", ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                                             "output_padding")),
    nn.Linear: ("Linear", ("in_features", "out_features")),
    nn.MaxPool2d: ("MaxPool2d", ("kernel_size", "stride", "padding")),
    nn.AvgPool2d: ("AvgPool2d", ("kernel_size", "stride", "padding")),
    nn.Upsample: ("Upsample", ("scale_factor", "mode")),
    nn.ReLU: ("ReLU", ()),
    nn.LeakyReLU: ("LeakyReLU", ()),
    nn.Sigmoid: ("Sigmoid", ()),
    nn.Tanh: ("Tanh", ()),
    nn.ELU: ("ELU", ()),
    nn.GELU: ("GELU", ()),
    nn.SiLU: ("SiLU", ()),
    nn.Softmax: ("Softmax", ()),
    nn.LogSoftmax: ("LogSoftmax", ()),
    nn.SELU: ("SELU", ()),
    nn.Softplus: ("Softplus", ()),
    nn.PReLU: ("PReLU", ()),
    nn.Mish: ("Mish", ()),
    nn.Hardswish: ("Hardswish", ()),
    nn.Hardsigmoid: ("Hardsigmoid", ()),
    nn.ReLU6: ("ReLU6", ()),  # before Hardtanh, its base class
    nn.Hardtanh: ("Hardtanh", ()),
    nn.LogSigmoid: ("LogSigmoid", ()),
    nn.CELU: ("CELU", ()),
    nn.Softsign: ("Softsign", ()),
    nn.Tanhshrink: ("Tanhshrink", ()),
    nn.Softshrink: ("Softshrink", ()),
    nn.Hardshrink: ("Hardshrink", ()),
    nn.GLU: ("GLU", ()),
    nn.Threshold: ("Threshold", ()),
    nn.RReLU: ("RReLU", ()),
    nn.Softmin: ("Softmin", ()),
    nn.BatchNorm1d: ("BatchNorm1d", ("num_features",)),
    nn.BatchNorm2d: ("BatchNorm2d", ("num_features",)),
    nn.Dropout: ("Dropout", ()),
    nn.Flatten: ("Flatten", ()),
    nn.Unflatten: ("Unflatten", ()),
    nn.Identity: ("Identity", ()),
}

# Function names (as torch reports them to a TorchFunctionMode) and the layer they are.
FUNCTIONS = {
    "relu": "ReLU", "relu_": "ReLU", "leaky_relu": "LeakyReLU", "sigmoid": "Sigmoid", "sigmoid_": "Sigmoid",
    "tanh": "Tanh", "elu": "ELU", "gelu": "GELU", "silu": "SiLU", "softmax": "Softmax", "log_softmax": "LogSoftmax",
    "_max_pool2d": "MaxPool2d", "max_pool2d": "MaxPool2d", "max_pool2d_with_indices": "MaxPool2d",
    "avg_pool2d": "AvgPool2d", "interpolate": "Upsample", "upsample": "Upsample", "upsample_nearest": "Upsample",
    "conv2d": "Conv2d", "conv_transpose2d": "ConvTranspose2d", "linear": "Linear",
    "dropout": "Dropout", "flatten": "Flatten",
    "selu": "SELU", "selu_": "SELU", "softplus": "Softplus", "prelu": "PReLU", "mish": "Mish",
    "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid", "hardtanh": "Hardtanh", "hardtanh_": "Hardtanh",
    "relu6": "ReLU6", "logsigmoid": "LogSigmoid", "celu": "CELU", "softsign": "Softsign", "tanhshrink": "Tanhshrink",
    "softshrink": "Softshrink", "hardshrink": "Hardshrink", "glu": "GLU", "threshold": "Threshold",
    "rrelu": "RReLU", "softmin": "Softmin", "exp": "Exp", "exp_": "Exp",
    # element-wise maths that is not linear: possibly an activation written by hand
    **{name: unknown(name) for name in ("abs", "sqrt", "log", "sin", "cos", "clamp", "clamp_", "clamp_min",
                                        "clip", "square", "__pow__", "pow", "erf", "sign", "maximum", "minimum")},
    "add": "add", "__add__": "add", "__radd__": "add", "add_": "add", "__iadd__": "add", "cat": "cat",
}  # fmt: skip

MATRIX_PRODUCTS = {"matmul", "__matmul__", "__rmatmul__", "mm", "addmm", "bmm"}



def _plain(value):
    if isinstance(value, (tuple, list)):
        items = [_plain(v) for v in value]
        return items[0] if len(set(map(str, items))) == 1 else items  # (3, 3) -> 3
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return str(value)


def _shape(value):
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return list(value[0].shape)
    return None


def _module_settings(module: nn.Module, keys) -> dict:
    settings = {key: _plain(getattr(module, key, None)) for key in keys}
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) and settings.get("stride") is None:
        settings["stride"] = settings["kernel_size"]
    if isinstance(module, nn.Upsample) and type(module).__name__ == "UpsamplingNearest2d":
        settings["mode"] = "nearest"
    return settings


def _arg(args, kwargs, index, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def _function_settings(op: str, args, kwargs) -> dict:
    if op in ("MaxPool2d", "AvgPool2d"):
        kernel = _plain(_arg(args, kwargs, 1, "kernel_size"))
        stride = _plain(_arg(args, kwargs, 2, "stride"))
        return {"kernel_size": kernel, "stride": kernel if stride in (None, []) else stride,
                "padding": _plain(_arg(args, kwargs, 3, "padding", 0))}
    if op == "Upsample":
        return {"scale_factor": _plain(_arg(args, kwargs, 2, "scale_factor")),
                "mode": _arg(args, kwargs, 3, "mode", "nearest")}
    if op in ("Conv2d", "ConvTranspose2d"):
        weight = _arg(args, kwargs, 1, "weight")
        out_ch, in_ch = (weight.shape[1], weight.shape[0]) if op == "ConvTranspose2d" else weight.shape[:2]
        return {"in_channels": int(in_ch), "out_channels": int(out_ch),
                "kernel_size": _plain(tuple(weight.shape[2:])),
                "stride": _plain(_arg(args, kwargs, 3, "stride", 1)),
                "padding": _plain(_arg(args, kwargs, 4, "padding", 0))}
    if op == "Linear":
        weight = _arg(args, kwargs, 1, "weight")
        return {"in_features": int(weight.shape[1]), "out_features": int(weight.shape[0])}
    return {}


def _is_parameter(value) -> bool:
    """A parameter, or a view of one (``W.T``, ``W.t()``, ``W.view(...)``)."""
    return isinstance(value, nn.Parameter) or isinstance(getattr(value, "_base", None), nn.Parameter)


def _matrix_product(name: str, args, result) -> dict | None:
    """A matrix product with a parameter operand, as a linear layer: its widths and whether it adds a bias."""
    operands = list(args[1:3]) if name == "addmm" else list(args[:2])
    if name == "__rmatmul__":
        operands.reverse()
    if len(operands) != 2 or not all(isinstance(o, torch.Tensor) for o in operands) or \
            not isinstance(result, torch.Tensor) or result.dim() == 0:
        return None
    first, second = operands
    if _is_parameter(second) and not _is_parameter(first) and first.dim() >= 1:
        widths = {"in_features": int(first.shape[-1]), "out_features": int(result.shape[-1])}
    elif _is_parameter(first) and not _is_parameter(second) and first.dim() == 2:
        widths = {"in_features": int(first.shape[-1]), "out_features": int(first.shape[-2])}
    else:
        return None
    bias = name == "addmm" and _is_parameter(args[0])
    return {"op": "Linear", "settings": widths, "via": "matrix product", "bias": bias,
            "in_shape": list(first.shape if not _is_parameter(first) else second.shape), "out_shape": _shape(result)}


class _Recorder(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.ops: list[dict] = []
        self.depth = 0  # > 0 while inside a known layer module

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if self.depth == 0 and name in MATRIX_PRODUCTS:
            product = _matrix_product(name, args, result)
            if product is not None:
                self.ops.append(product)
            return result
        op = FUNCTIONS.get(name)
        if op == "add" and self.ops and self.ops[-1].get("via") == "matrix product" and \
                any(_is_parameter(a) for a in args[:2]):
            self.ops[-1]["bias"] = True  # x @ W.T + b
        if op and self.depth == 0 and args and _shape(args[0]) is not None:
            entry = {"op": op, "settings": _function_settings(op, args, kwargs), "via": "function",
                     "in_shape": _shape(args[0]), "out_shape": _shape(result)}
            if op in ("Conv2d", "ConvTranspose2d", "Linear"):
                entry["bias"] = _arg(args, kwargs, 2, "bias") is not None
            self.ops.append(entry)
        return result


KNOWN_AFFINE = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.Dropout, nn.Dropout2d, nn.Identity,
                nn.Flatten, nn.Unflatten, nn.Conv1d, nn.Conv3d, nn.ConvTranspose1d, nn.Embedding)


def _same_values(inputs, output) -> bool:
    """The output holds exactly the input's values, in order: a module that only reshapes (a view, a permute of
    size-1 axes), not a layer."""
    first = inputs[0] if inputs else None
    if not isinstance(first, torch.Tensor) or not isinstance(output, torch.Tensor) or first.numel() != output.numel():
        return False
    try:
        return bool(torch.equal(first.reshape(-1), output.reshape(-1)))
    except RuntimeError:
        return False


def _unknown_layer(module: nn.Module) -> bool:
    """A leaf module the vocabulary does not know, which may be nonlinear (a custom activation, LayerNorm)."""
    return not isinstance(module, KNOWN_AFFINE)


def trace_ops(model: nn.Module, run) -> list[dict]:
    """Run ``run()`` (which calls the model) and return the ops it executed, in order."""
    recorder = _Recorder()
    handles = []

    def before(module, inputs):
        recorder.depth += 1

    names = {module: name for name, module in model.named_modules()}

    def make_after(op, keys):
        def after(module, inputs, output):
            recorder.depth -= 1
            if recorder.depth == 0:
                recorder.ops.append({"op": op, "settings": _module_settings(module, keys), "via": "module",
                                     "name": names.get(module, ""), "bias": getattr(module, "bias", None) is not None,
                                     "in_shape": _shape(inputs[0]) if inputs else None, "out_shape": _shape(output)})
        return after

    # A leaf module the vocabulary does not know is traced through: the operations its forward runs are recorded
    # (an F.linear or a matrix product inside a custom layer is a Linear); one that runs none the tracers know is
    # itself recorded, as a reshape when its output holds its input's values, else as Unknown:<its class>.
    started: list[int] = []

    def unknown_before(module, inputs):
        started.append(len(recorder.ops))

    def unknown_after(module, inputs, output):
        count = started.pop() if started else len(recorder.ops)
        if recorder.depth == 0 and len(recorder.ops) == count:
            kind = "Reshape" if _same_values(inputs, output) else unknown(type(module).__name__)
            recorder.ops.append({"op": kind, "settings": {}, "via": "module", "name": names.get(module, ""),
                                 "bias": False, "in_shape": _shape(inputs[0]) if inputs else None,
                                 "out_shape": _shape(output)})

    for module in model.modules():
        for cls, (op, keys) in LAYER_MODULES.items():
            if isinstance(module, cls):
                handles.append(module.register_forward_pre_hook(before))
                handles.append(module.register_forward_hook(make_after(op, keys)))
                break
        else:
            if not list(module.children()) and not isinstance(module, nn.modules.loss._Loss) and \
                    module is not model and _unknown_layer(module):
                handles.append(module.register_forward_pre_hook(unknown_before))
                handles.append(module.register_forward_hook(unknown_after))
    try:
        with recorder, torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return recorder.ops
