"""Problem 3.3: one backpropagation pass through the 2-2-2 sigmoid network, cross-entropy cost.

Figure 1 of the handout (the network's values) did not survive the text
conversion; the values below are the ones the seed student read off it, and
they reproduce that student's delta3 = [0.74693192, -0.33064048].

Notation (Nielsen): layer 1 is the input x, z^l = W^l a^(l-1) + b^l,
a^l = sigmoid(z^l), delta^l = dC/dz^l, and W^l[j, k] connects neuron k of
layer l-1 to neuron j of layer l. The cost of the single training example is
C = -sum_j [y_j ln a^3_j + (1 - y_j) ln(1 - a^3_j)].

The answer is computed twice, with the four backpropagation equations in
NumPy and with float64 autograd in PyTorch; ``answer()`` insists they agree.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

NETWORK = {
    "x": [0.05, 0.1],
    "y": [0.01, 0.99],
    "W2": [[0.15, 0.25], [0.2, 0.3]],
    "b2": [0.35, 0.35],
    "W3": [[0.4, 0.5], [-0.45, 0.55]],
    "b3": [0.6, 0.6],
}

WHY_NO_INPUT_DELTA = (
    "The input layer has no error term. delta^l = dC/dz^l is defined for layers whose "
    "activations are computed from a weighted input z^l = W^l a^(l-1) + b^l; the input "
    "activations are the data x, with no z^1, weights or biases behind them, so there is "
    "no delta^1 and nothing to update with it. The expression ((W^2)^T delta^2) * x(1-x) "
    "pretends that x = sigmoid(z^1) for some z^1, which is not so. The quantity that does "
    "exist is dC/dx = (W^2)^T delta^2, the gradient of the cost with respect to the input."
)


@dataclass(frozen=True)
class Backprop:
    """Every value of one forward and backward pass (vectors as 1-D arrays)."""

    z2: np.ndarray
    a2: np.ndarray
    z3: np.ndarray
    a3: np.ndarray
    cost: np.ndarray
    delta3: np.ndarray
    delta2: np.ndarray
    dC_dW3: np.ndarray
    dC_db3: np.ndarray
    dC_dW2: np.ndarray
    dC_db2: np.ndarray
    dC_dx: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def by_backprop_equations(net: dict = NETWORK) -> Backprop:
    """Forward pass, then BP1-BP4 (Nielsen ch. 2-3) in float64."""
    x, y, W2, b2, W3, b3 = (np.asarray(net[k], dtype=np.float64) for k in ("x", "y", "W2", "b2", "W3", "b3"))
    z2 = W2 @ x + b2
    a2 = _sigmoid(z2)
    z3 = W3 @ a2 + b3
    a3 = _sigmoid(z3)
    cost = -np.sum(y * np.log(a3) + (1 - y) * np.log(1 - a3))
    delta3 = a3 - y  # BP1 with cross-entropy: sigma'(z) cancels
    delta2 = (W3.T @ delta3) * a2 * (1 - a2)  # BP2
    return Backprop(
        z2=z2, a2=a2, z3=z3, a3=a3, cost=np.asarray(cost),
        delta3=delta3, delta2=delta2,
        dC_dW3=np.outer(delta3, a2), dC_db3=delta3,  # BP4, BP3
        dC_dW2=np.outer(delta2, x), dC_db2=delta2,
        dC_dx=W2.T @ delta2,
    )  # fmt: skip


def by_autograd(net: dict = NETWORK) -> Backprop:
    """The same values from PyTorch's autograd in float64: deltas are the gradients of z."""
    import torch

    t = {k: torch.tensor(v, dtype=torch.float64) for k, v in net.items()}
    W2, b2, W3, b3 = (t[k].requires_grad_() for k in ("W2", "b2", "W3", "b3"))
    x = t["x"].requires_grad_()
    z2 = W2 @ x + b2
    a2 = torch.sigmoid(z2)
    z3 = W3 @ a2 + b3
    a3 = torch.sigmoid(z3)
    cost = torch.nn.functional.binary_cross_entropy(a3, t["y"], reduction="sum")
    z2.retain_grad()
    z3.retain_grad()
    cost.backward()

    def np_(v):
        return v.detach().numpy()

    return Backprop(
        z2=np_(z2), a2=np_(a2), z3=np_(z3), a3=np_(a3), cost=np_(cost),
        delta3=np_(z3.grad), delta2=np_(z2.grad),
        dC_dW3=np_(W3.grad), dC_db3=np_(b3.grad),
        dC_dW2=np_(W2.grad), dC_db2=np_(b2.grad),
        dC_dx=np_(x.grad),
    )  # fmt: skip


def answer(rtol: float = 1e-12, atol: float = 1e-15) -> Backprop:
    """The backprop-equation values, after checking every one against autograd."""
    by_hand, by_torch = by_backprop_equations(), by_autograd()
    for name, value in by_hand.as_dict().items():
        np.testing.assert_allclose(
            value, getattr(by_torch, name), rtol=rtol, atol=atol,
            err_msg=f"Problem 3.3 {name}: backprop equations and autograd disagree",
        )  # fmt: skip
    return by_hand
