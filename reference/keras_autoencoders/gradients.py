"""Problem 2 (a): the gradients of the one-hidden-layer ReLU autoencoder, computed two (three) ways.

    h = relu(W1 x + b1),  x_hat = relu(W2 h + b2),  L = (1/n) sum_i ||x_i - x_hat_i||^2

Rows are samples: X (n, D), W1 (H, D), b1 (H), W2 (D, H), b2 (D). By the equations:

    dL/dx_hat_i = (2/n)(x_hat_i - x_i)                 (no ReLU' here: it belongs to dL/dz2)
    delta2_i = dL/dz2_i = (2/n)(x_hat_i - x_i) * 1[z2_i > 0]
    dL/dW2 = sum_i delta2_i h_i^T = delta2^T H,   dL/db2 = sum_i delta2_i
    delta1_i = dL/dz1_i = (W2^T delta2_i) * 1[z1_i > 0]
    dL/dW1 = delta1^T X,   dL/db1 = sum_i delta1_i

and, to check them, by float64 autograd and by central finite differences.
"""

from __future__ import annotations

import numpy as np

# The worked example of the answer key (for human graders).
EXAMPLE = {
    "X": [[0.2, 0.9, 0.0], [0.7, 0.1, 0.5]],
    "W1": [[0.5, -0.3, 0.8], [-0.6, 0.4, 0.2]],
    "b1": [0.1, -0.1],
    "W2": [[0.7, -0.2], [0.3, 0.9], [-0.5, 0.6]],
    "b2": [0.05, -0.05, 0.1],
}


def by_equations(X, W1, b1, W2, b2) -> dict[str, np.ndarray]:
    X, W1, b1, W2, b2 = (np.asarray(a, np.float64) for a in (X, W1, b1, W2, b2))
    n = len(X)
    z1 = X @ W1.T + b1
    h = np.maximum(z1, 0)
    z2 = h @ W2.T + b2
    x_hat = np.maximum(z2, 0)
    loss = ((X - x_hat) ** 2).sum() / n
    delta2 = (2 / n) * (x_hat - X) * (z2 > 0)
    delta1 = (delta2 @ W2) * (z1 > 0)
    return {"L": np.asarray(loss), "W2": delta2.T @ h, "b2": delta2.sum(axis=0), "W1": delta1.T @ X,
            "b1": delta1.sum(axis=0), "x_hat": (2 / n) * (x_hat - X)}


def by_autograd(X, W1, b1, W2, b2) -> dict[str, np.ndarray]:
    import torch

    X = torch.tensor(X, dtype=torch.float64)
    params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
              for k, v in {"W1": W1, "b1": b1, "W2": W2, "b2": b2}.items()}
    h = torch.relu(X @ params["W1"].T + params["b1"])
    x_hat = torch.relu(h @ params["W2"].T + params["b2"])
    loss = ((X - x_hat) ** 2).sum() / len(X)
    loss.backward()
    return {"L": loss.detach().numpy(), **{k: p.grad.numpy() for k, p in params.items()}}


def by_finite_differences(X, W1, b1, W2, b2, eps: float = 1e-6) -> dict[str, np.ndarray]:
    values = {k: np.asarray(v, np.float64) for k, v in {"W1": W1, "b1": b1, "W2": W2, "b2": b2}.items()}

    def loss(**changed):
        return float(by_equations(X, **{**values, **changed})["L"])

    grads = {}
    for name, value in values.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[index] += eps
            down[index] -= eps
            grad[index] = (loss(**{name: up}) - loss(**{name: down})) / (2 * eps)
        grads[name] = grad
    return grads


def answer() -> dict[str, np.ndarray]:
    """The worked example's loss and gradients, by the equations, checked by autograd (to 1e-12) and by finite
    differences (to 1e-7)."""
    equations = by_equations(**EXAMPLE)
    autograd = by_autograd(**EXAMPLE)
    numeric = by_finite_differences(**EXAMPLE)
    for key in ("W1", "b1", "W2", "b2"):
        assert np.allclose(equations[key], autograd[key], atol=1e-12), key
        assert np.allclose(equations[key], numeric[key], atol=1e-7), key
    return {key: equations[key] for key in ("L", "W1", "b1", "W2", "b2")}
