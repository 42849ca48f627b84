"""Which device trains the models: a CUDA GPU when there is one, else the CPU; can be forced."""

from __future__ import annotations

import torch

CHOICES = ("auto", "cpu", "cuda")


def choose_device(requested: str = "auto") -> torch.device:
    if requested not in CHOICES and not requested.startswith("cuda:"):
        raise ValueError(f"--device must be one of {', '.join(CHOICES)} (or cuda:N), not {requested!r}")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"--device {requested} was asked for, but no CUDA GPU is available")
    return torch.device(requested)
