"""The notation of expected layers in an assignment: ``"Conv2d(in_channels=1, kernel_size=3)"`` or ``"ReLU"``."""

from __future__ import annotations

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
