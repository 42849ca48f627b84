"""The notation of expected layers in an assignment: ``"Conv2d(in_channels=1, kernel_size=3)"`` or ``"ReLU"``."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .errors import SpecError

_LAYER = re.compile(r"^\s*(?P<type>\w+)\s*(?:\((?P<args>.*)\))?\s*$")


@dataclass(frozen=True)
class LayerSpec:
    """One expected layer: its type and the settings that must match (others are free)."""

    type: str
    settings: dict

    @classmethod
    def parse(cls, text: str) -> LayerSpec:
        match = _LAYER.match(text)
        if not match:
            raise SpecError(f"cannot read layer {text!r}; write it as Type(key=value, ...)")
        settings = {}
        for item in filter(None, (part.strip() for part in (match["args"] or "").split(","))):
            key, _, value = item.partition("=")
            if not _:
                raise SpecError(f"layer {text!r}: {item!r} is not key=value")
            settings[key.strip()] = _value(value.strip())
        return cls(match["type"], settings)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"{self.type}({args})" if args else self.type


def _value(text: str):
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def check_layer(layer: LayerSpec, where: str) -> LayerSpec:
    """The layer, when its type is one the tracers report and each setting is a parameter of that torch layer;
    else SpecError saying where, what was written and what the layer takes (``Linear(in=784)`` is a typo of
    ``in_features``, found when the assignment is loaded, not as every student's failed check)."""
    takes = _settings_of(layer.type)
    if takes is None:
        raise SpecError(f"{where}: {layer}: {layer.type!r} is not a torch.nn layer nor an operation the grader "
                        f"traces (check its spelling and capitals, e.g. Conv2d, ReLU)")
    unknown = [key for key in layer.settings if takes is not ANY and key not in takes]
    if unknown:
        raise SpecError(f"{where}: {layer}: {layer.type} takes no setting {', '.join(map(repr, unknown))}; it "
                        f"takes {', '.join(takes)}")
    return layer


ANY = ("any setting",)  # the settings of an operation torch.nn has no layer for


@functools.cache
def _settings_of(layer_type: str) -> tuple[str, ...] | None:
    """The constructor parameters of a torch.nn layer; ANY for an operation the tracers report that torch.nn does
    not have (any setting goes); None for neither. Read once per type: every grading loads its assignment."""
    import inspect

    import torch.nn

    from ..common.operations import NONLINEARITIES, REGULARISERS, SHAPE_OPS, WEIGHTED

    module = getattr(torch.nn, layer_type, None)
    if isinstance(module, type) and issubclass(module, torch.nn.Module):
        return tuple(name for name in inspect.signature(module.__init__).parameters
                     if name not in ("self", "args", "kwargs"))
    return ANY if layer_type in WEIGHTED | NONLINEARITIES | SHAPE_OPS | REGULARISERS else None
