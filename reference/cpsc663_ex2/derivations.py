"""Numerical checks of the written derivations (written.toml, ``checked_by``).

Each check compares the closed form of a model answer with float64 autograd or
direct evaluation, and returns the largest discrepancy it saw; ``answer()``
runs them all and insists each is within tolerance.
"""

from __future__ import annotations

import numpy as np
import torch

TOLERANCE = 1e-9


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _t(a) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)


def modified_neuron() -> float:
    """2.1: one neuron with f = tanh instead of sigmoid; backprop with f' for it matches autograd."""
    rng = _rng()
    W2, b2, W3, b3 = (_t(rng.normal(size=s)) for s in ((3, 2), (3,), (2, 3), (2,)))
    x, y = _t(rng.uniform(size=2)), _t([0.2, 0.7])
    act = [torch.sigmoid, torch.tanh, torch.sigmoid]  # neuron 1 of the hidden layer is modified
    dact = [lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z)), lambda z: 1 - torch.tanh(z) ** 2] * 2

    z2 = W2 @ x + b2
    a2 = torch.stack([act[j](z2[j]) for j in range(3)])
    a3 = torch.sigmoid(W3 @ a2 + b3)
    delta3 = a3 - y  # cross-entropy output error
    fprime = torch.stack([dact[j](z2[j]) for j in range(3)])
    delta2 = (W3.T @ delta3) * fprime  # BP2 with f' for the modified neuron

    W2g = W2.clone().requires_grad_()
    z2g = W2g @ x + b2
    a2g = torch.stack([act[j](z2g[j]) for j in range(3)])
    cost = torch.nn.functional.binary_cross_entropy(torch.sigmoid(W3 @ a2g + b3), y, reduction="sum")
    cost.backward()
    return float((torch.outer(delta2, x) - W2g.grad).abs().max())


def softmax_log_likelihood() -> float:
    """2.2: with softmax outputs and C = -ln a_y, dC/dz = a - y."""
    rng, worst = _rng(), 0.0
    for _ in range(20):
        z = _t(rng.normal(size=10) * 3).requires_grad_()
        label = int(rng.integers(10))
        a = torch.softmax(z, dim=0)
        (-torch.log(a[label])).backward()
        y = torch.zeros(10, dtype=torch.float64)
        y[label] = 1
        worst = max(worst, float((z.grad - (a.detach() - y)).abs().max()))
    return worst


def linear_network() -> float:
    """2.3: with sigma(z) = z, delta^L = grad_a C and delta^l = W^T delta^(l+1)."""
    rng = _rng()
    W2, b2, W3, b3 = (_t(rng.normal(size=s)) for s in ((4, 3), (4,), (2, 4), (2,)))
    x, y = _t(rng.normal(size=3)), _t(rng.normal(size=2))
    a3 = W3 @ (W2 @ x + b2) + b3
    delta3 = a3 - y  # quadratic cost C = |a - y|^2 / 2
    delta2 = W3.T @ delta3
    W2g = W2.clone().requires_grad_()
    (0.5 * ((W3 @ (W2g @ x + b2) + b3 - y) ** 2).sum()).backward()
    return float((torch.outer(delta2, x) - W2g.grad).abs().max())


def cross_entropy_forms() -> float:
    """3.1: -[a ln y + (1-a) ln(1-y)] is infinite at y in {0, 1}; -[y ln a + (1-y) ln(1-a)] is finite."""
    a = np.linspace(0.01, 0.99, 99)
    with np.errstate(divide="ignore", invalid="ignore"):
        wrong = [-(a * np.log(y) + (1 - a) * np.log(1 - y)) for y in (0.0, 1.0)]
    right = [-(y * np.log(a) + (1 - y) * np.log(1 - a)) for y in (0.0, 1.0)]
    if not all(np.isinf(w).any() or np.isnan(w).any() for w in wrong):
        return 1.0
    return 0.0 if all(np.isfinite(r).all() for r in right) else 1.0


def cross_entropy_minimum() -> float:
    """3.2: for y in (0, 1) the cross-entropy over a is smallest at a = y, with value -(y ln y + (1-y) ln(1-y))."""
    a = np.linspace(1e-4, 1 - 1e-4, 200_001)
    worst = 0.0
    for y in np.linspace(0.05, 0.95, 19):
        cost = -(y * np.log(a) + (1 - y) * np.log(1 - a))
        entropy = -(y * np.log(y) + (1 - y) * np.log(1 - y))
        worst = max(worst, abs(a[cost.argmin()] - y) - 1e-4, abs(cost.min() - entropy) - 1e-8)
    return max(worst, 0.0)


def softmax_tends_to_argmax() -> float:
    """Bonus: softmax(c z) approaches the one-hot arg max as c grows."""
    z = _t(_rng().normal(size=10))
    one_hot = torch.nn.functional.one_hot(z.argmax(), 10).double()
    return float((torch.softmax(1e4 * z, dim=0) - one_hot).abs().max())


CHECKS = {
    "2.1": modified_neuron,
    "2.2": softmax_log_likelihood,
    "2.3": linear_network,
    "3.1": cross_entropy_forms,
    "3.2": cross_entropy_minimum,
    "bonus": softmax_tends_to_argmax,
}


def answer() -> dict[str, float]:
    """Largest discrepancy of every check; raises if one exceeds the tolerance."""
    results = {problem: check() for problem, check in CHECKS.items()}
    failed = {p: r for p, r in results.items() if not r <= TOLERANCE}
    if failed:
        raise AssertionError(f"derivation checks failed: {failed}")
    return results
