"""A model's layers as plain data, and its parameter count worked out from them.

``describe_layers`` lists the leaf modules in registration order with the
settings that define them (channels, kernel, stride, padding, features). It
returns only builtins, so it can cross a process boundary as JSON.
``parameters_by_formula`` recomputes the parameter count from that list alone,
a second way to the count PyTorch gives.
"""

from __future__ import annotations

from torch import nn

_SETTINGS = {
    nn.Conv2d: ("in_channels", "out_channels", "kernel_size", "stride", "padding", "groups"),
    nn.ConvTranspose2d: ("in_channels", "out_channels", "kernel_size", "stride", "padding", "groups"),
    nn.Linear: ("in_features", "out_features"),
    nn.MaxPool2d: ("kernel_size", "stride", "padding"),
    nn.AvgPool2d: ("kernel_size", "stride", "padding"),
    nn.Upsample: ("scale_factor", "mode"),
    nn.BatchNorm1d: ("num_features", "affine"),
    nn.BatchNorm2d: ("num_features", "affine"),
}


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def describe_layers(model: nn.Module) -> list[dict]:
    """Leaf modules as dicts: name, type, settings, whether it has a bias, own parameter count."""
    layers = []
    for name, module in model.named_modules():
        if any(True for _ in module.children()):
            continue
        settings = {}
        for cls, keys in _SETTINGS.items():
            if isinstance(module, cls):
                settings = {key: _plain(getattr(module, key)) for key in keys}
                break
        layers.append(
            {
                "name": name,
                "type": type(module).__name__,
                "settings": settings,
                "bias": getattr(module, "bias", None) is not None,
                "parameters": sum(p.numel() for p in module.parameters(recurse=False)),
            }
        )
    return layers


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, list) else (value, value)


def layer_parameters_by_formula(layer: dict) -> int | None:
    """Parameters of one described layer from its settings (None for a type with no formula)."""
    s, bias = layer["settings"], layer["bias"]
    if layer["type"] in ("Conv2d", "ConvTranspose2d"):
        kh, kw = _pair(s["kernel_size"])
        return s["out_channels"] * (s["in_channels"] // s["groups"]) * kh * kw + (s["out_channels"] if bias else 0)
    if layer["type"] == "Linear":
        return s["in_features"] * s["out_features"] + (s["out_features"] if bias else 0)
    if layer["type"].startswith("BatchNorm"):
        return 2 * s["num_features"] if s["affine"] else 0
    if layer["parameters"] == 0:
        return 0
    return None


def parameters_by_formula(layers: list[dict]) -> int:
    """The total parameter count from layer settings; raises if a layer has no formula."""
    total = 0
    for layer in layers:
        count = layer_parameters_by_formula(layer)
        if count is None:
            raise ValueError(f"no parameter formula for layer {layer['name']} ({layer['type']})")
        total += count
    return total
