"""The analytic facts of HW 6, each computed two ways.

* Neurons of the input and output layers: the pixels of one image (``load_digits().images``), and the
  columns of the data matrix the template trains on.
* The padding that keeps an 8x8 image's size under a 3x3 kernel: solved from the output-size formula,
  and what ``nn.Conv2d`` gives with it.
* Parameter counts: ``129 h + 64`` (MLP, hidden size h) and ``19 k + 1`` (CAE, k kernels) by formula, and
  by counting the reference models' parameters.
* The digits' rank (61 once centred), and the error of the best linear reconstruction through h
  dimensions (PCA), which a converged linear autoencoder of width h reaches: by SVD, and zero from the rank on.
"""

from __future__ import annotations

import numpy as np


def _digits():
    from sklearn.datasets import load_digits

    return load_digits()


def neurons() -> dict[str, int]:
    digits = _digits()
    by_image = int(np.prod(digits.images.shape[1:]))
    by_matrix = int(digits.data.shape[1])
    assert by_image == by_matrix == 64
    return {"input_neurons": by_image, "output_neurons": by_matrix}


def answer() -> dict[str, int]:
    """The numeric answers of P1 (a) and (b)."""
    return neurons()


def same_size_padding(size: int = 8, kernel: int = 3) -> int:
    """p with size + 2p - kernel + 1 = size, checked against nn.Conv2d."""
    import torch
    from torch import nn

    padding = (kernel - 1) // 2
    assert size + 2 * padding - kernel + 1 == size
    out = nn.Conv2d(1, 1, kernel, padding=padding)(torch.zeros(1, 1, size, size))
    assert tuple(out.shape[2:]) == (size, size)
    return padding


def mlp_parameters(hidden_size: int) -> int:
    """(64 h + h) + (h 64 + 64)."""
    return 129 * hidden_size + 64


def cae_parameters(kernels: int) -> int:
    """(9 k + k) + (9 k + 1)."""
    return 19 * kernels + 1


def digits_rank() -> int:
    data = _digits().data
    return int(np.linalg.matrix_rank(data - data.mean(axis=0)))


def pca_error(hidden_size: int, train: np.ndarray, test: np.ndarray) -> float:
    """Test MSE of the best rank-h affine reconstruction fitted on ``train`` (rows are examples)."""
    mean = train.mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis = vt[:hidden_size]
    return float((((test - mean) @ basis.T @ basis + mean - test) ** 2).mean())
