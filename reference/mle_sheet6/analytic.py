"""Exercise 1 of the sheet and the sizes its models have, each computed two (or three) ways.

* 1.1: Z = X + Y of independent Gaussians is N(mu1 + mu2, s1^2 + s2^2): the completed square and the
  prefactor simplified symbolically (sympy), the convolution integral done numerically, and sampling.
* 1.2: H_out = floor((H + 2p - K) / s) + 1, against ``nn.Conv2d`` over a grid of sizes, kernels, paddings and
  strides (and the transposed convolutions of the sheet's decoder against ``nn.ConvTranspose2d``).
* Parameter counts: 131,958 for the CNN, 40,577 L + 47,105 for the convolutional autoencoder, 16,474 for the
  linear one at 784/10, by hand from the layer lists (the tests count the reference models too).
"""

from __future__ import annotations

import itertools

import numpy as np


def gaussian_sum_symbolic() -> tuple:
    """The two quantities of the student's derivation that must simplify to 0."""
    import sympy as sp

    x, z, m1, m2 = sp.symbols("x z mu1 mu2", real=True)
    s1, s2 = sp.symbols("sigma1 sigma2", positive=True)
    a = 1 / (2 * s1**2) + 1 / (2 * s2**2)
    b = m1 / s1**2 + (z - m2) / s2**2
    c = m1**2 / (2 * s1**2) + (z - m2) ** 2 / (2 * s2**2)
    exponent = sp.simplify(b**2 / (4 * a) - c + (z - m1 - m2) ** 2 / (2 * (s1**2 + s2**2)))
    prefactor = sp.simplify(1 / (2 * sp.pi * s1 * s2) * sp.sqrt(sp.pi / a) - 1 / sp.sqrt(2 * sp.pi * (s1**2 + s2**2)))
    return exponent, prefactor


def _normal(x, mean, std):
    return np.exp(-((x - mean) ** 2) / (2 * std**2)) / np.sqrt(2 * np.pi * std**2)


def gaussian_sum_numeric(m1=1.0, s1=2.0, m2=-3.0, s2=0.5) -> float:
    """Largest difference between the numerical convolution of the two densities and N(m1 + m2, s1^2 + s2^2)."""
    grid = np.linspace(-40, 40, 16001)
    step = grid[1] - grid[0]
    convolved = np.array([np.sum(_normal(grid, m1, s1) * _normal(z - grid, m2, s2)) * step for z in grid[::400]])
    closed = _normal(grid[::400], m1 + m2, np.sqrt(s1**2 + s2**2))
    return float(np.abs(convolved - closed).max())


def gaussian_sum_sampled(m1=1.0, s1=2.0, m2=-3.0, s2=0.5, n=2_000_000, seed=0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    z = rng.normal(m1, s1, n) + rng.normal(m2, s2, n)
    return float(z.mean()), float(z.var())


def output_size(size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def output_size_mismatches() -> int:
    """Combinations where the formula and ``nn.Conv2d`` disagree (of 1,080)."""
    import torch
    from torch import nn

    wrong = 0
    for h, w, kh, kw, p, s in itertools.product((5, 8, 13, 28, 64), (6, 28), (1, 2, 3, 5), (1, 3, 4), (0, 1, 2),
                                                (1, 2, 3)):
        if h + 2 * p < kh or w + 2 * p < kw:
            continue
        out = nn.Conv2d(1, 1, (kh, kw), stride=s, padding=p)(torch.zeros(1, 1, h, w))
        wrong += tuple(out.shape[2:]) != (output_size(h, kh, p, s), output_size(w, kw, p, s))
    return wrong


def cnn_parameters() -> int:
    """Conv(3->4, 3x3), BN(4), Conv(4->8, 3x3), BN(8), Linear(8*16*16 -> 64), Linear(64 -> 6)."""
    return (3 * 4 * 9 + 4) + 2 * 4 + (4 * 8 * 9 + 8) + 2 * 8 + (8 * 16 * 16 * 64 + 64) + (64 * 6 + 6)


def conv_ae_parameters(latent: int) -> int:
    """Encoder convolutions 160 + 4,640 + 18,496, Linear(40,000 -> L); decoder Linear(L -> 576), transposed
    convolutions 18,464 + 4,624 + 145."""
    convolutions = (1 * 16 * 9 + 16) + (16 * 32 * 9 + 32) + (32 * 64 * 9 + 64)
    transposed = (64 * 32 * 9 + 32) + (32 * 16 * 9 + 16) + (16 * 1 * 9 + 1)
    return convolutions + (64 * 25 * 25 * latent + latent) + (latent * 576 + 576) + transposed


def pca_ae_parameters(input_dim: int = 784, latent: int = 10) -> int:
    return (input_dim * latent + latent) + (latent * input_dim + input_dim)


def transposed_output_size(size: int, kernel: int, stride: int, padding: int, output_padding: int) -> int:
    return (size - 1) * stride - 2 * padding + kernel + output_padding


def decoder_sizes() -> list[tuple[int, int]]:
    """The sheet's transposed convolutions (3 -> 7 -> 14 -> 28): by formula, and by ``nn.ConvTranspose2d``."""
    import torch
    from torch import nn

    sizes, size = [], 3
    for stride, padding, output_padding in ((2, 0, 0), (2, 1, 1), (2, 1, 1)):
        layer = nn.ConvTranspose2d(1, 1, 3, stride=stride, padding=padding, output_padding=output_padding)
        measured = layer(torch.zeros(1, 1, size, size)).shape[-1]
        size = transposed_output_size(size, 3, stride, padding, output_padding)
        sizes.append((size, measured))
    return sizes
