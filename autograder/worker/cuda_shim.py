"""Let student code that hard-codes CUDA (``.cuda()``, ``.to('cuda')``, ``device='cuda'``) run on a CPU.

Installed in the worker (and a notebook's kernel) only when no GPU is present;
where there is one, the code uses it. Every redirected request is counted, so
the feedback can say that the code asked for a GPU and ran on the CPU.
"""

from __future__ import annotations

import functools

import torch

requests = 0  # how many times the student's code asked for CUDA
_FACTORIES = ("tensor", "as_tensor", "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm",
              "arange", "linspace", "eye", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
              "randn_like")  # fmt: skip


def _is_cuda(value) -> bool:
    return (isinstance(value, str) and value.startswith("cuda")) or (
        isinstance(value, torch.device) and value.type == "cuda"
    )


def _to_cpu(value):
    global requests
    if _is_cuda(value):
        requests += 1
        return "cpu"
    return value


def _redirect_device_kwarg(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if "device" in kwargs:
            kwargs["device"] = _to_cpu(kwargs["device"])
        return function(*args, **kwargs)

    return wrapper


def install() -> bool:
    """Redirect CUDA requests to the CPU if there is no GPU; True if installed."""
    if torch.cuda.is_available():
        return False
    original_to = torch.Tensor.to

    def tensor_to(self, *args, **kwargs):
        args = tuple(_to_cpu(a) for a in args)
        if "device" in kwargs:
            kwargs["device"] = _to_cpu(kwargs["device"])
        return original_to(self, *args, **kwargs)

    def tensor_cuda(self, *args, **kwargs):
        _to_cpu("cuda")
        return self

    def module_cuda(self, device=None):
        _to_cpu("cuda")
        return self

    torch.Tensor.to = tensor_to
    torch.Tensor.cuda = tensor_cuda
    torch.nn.Module.cuda = module_cuda
    for name in _FACTORIES:
        setattr(torch, name, _redirect_device_kwarg(getattr(torch, name)))
    original_load = torch.load

    @functools.wraps(original_load)
    def load(*args, **kwargs):
        if "map_location" in kwargs:
            kwargs["map_location"] = _to_cpu(kwargs["map_location"])
        elif len(args) < 2:  # tensors saved on a GPU load onto the CPU
            kwargs["map_location"] = "cpu"
        return original_load(*args, **kwargs)

    torch.load = load
    return True
