"""Problem 4.1: output sizes of convolution and max-pooling layers.

For input size n, kernel k, stride s, padding p (dilation 1, floor rounding):

    out = floor((n + 2p - k) / s) + 1

The formula is cross-checked against ``nn.Conv2d`` and ``nn.MaxPool2d``.
"""

from __future__ import annotations

import itertools

INPUT_SIZE = (50, 50)  # h x w of the handout

# The handout's four cases: (layer, kernel, stride, padding).
CASES = {
    "a": ("conv", 4, 1, 1),
    "b": ("conv", 8, 5, 0),
    "c": ("pool", 10, 2, 2),
    "d": ("pool", 2, 1, 0),
}


def output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Size along one axis after a convolution or max-pooling layer (floor mode)."""
    out = (n + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"kernel {kernel} does not fit input {n} with padding {padding}")
    return out


def by_formula(case: str, size: tuple[int, int] = INPUT_SIZE) -> tuple[int, int]:
    _, k, s, p = CASES[case]
    return tuple(output_size(n, k, s, p) for n in size)


def by_torch(layer: str, kernel: int, stride: int, padding: int, size: tuple[int, int]) -> tuple[int, int]:
    """The (h, w) that PyTorch's own layer produces."""
    import torch
    from torch import nn

    module = (
        nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
        if layer == "conv"
        else nn.MaxPool2d(kernel, stride=stride, padding=padding)
    )
    with torch.no_grad():
        return tuple(module(torch.zeros(1, 1, *size)).shape[-2:])


def answer() -> dict[str, tuple[int, int]]:
    """The four handout answers, each checked against the PyTorch layer."""
    answers = {}
    for case, (layer, k, s, p) in CASES.items():
        mine, torch_says = by_formula(case), by_torch(layer, k, s, p, INPUT_SIZE)
        if mine != torch_says:
            raise AssertionError(f"Problem 4.1 ({case}): formula gives {mine}, PyTorch {torch_says}")
        answers[case] = mine
    return answers


def grid(sizes=range(5, 61, 11), kernels=(1, 2, 3, 4, 5, 8, 10), strides=(1, 2, 3, 5), paddings=(0, 1, 2, 3)):
    """Every (layer, n, k, s, p) of a grid that both layers accept (pool needs p <= k/2)."""
    for layer, n, k, s, p in itertools.product(("conv", "pool"), sizes, kernels, strides, paddings):
        if n + 2 * p < k or (layer == "pool" and 2 * p > k):
            continue
        yield layer, n, k, s, p
