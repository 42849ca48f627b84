"""Measurements of a model's behaviour that do not depend on how its code is written.

They run next to the model (in the worker for student code) and return plain
numbers; the verdicts are drawn from those numbers elsewhere.
"""

from __future__ import annotations

import torch

from .training import first_tensor


def jacobian_singular_values(forward, x: torch.Tensor, probes: int = 8, seed: int = 0) -> list[float]:
    """Singular values of the output's Jacobian with respect to one input, seen through random probes.

    ``probes`` random output directions u give the rows u^T J (one backward pass
    each). If the output reaches the input only through a code of width k, J
    factors through that code and at most k of the returned values are not
    (numerically) zero, however the model is written.
    """
    generator = torch.Generator().manual_seed(seed)
    x = x.detach().clone().requires_grad_(True)
    out = forward(x)
    out = first_tensor(out, x.numel()).reshape(-1)  # of (code, reconstruction): the reconstruction
    rows = []
    for _ in range(probes):
        u = torch.randn(out.shape, generator=generator).to(out.device, out.dtype)
        (grad,) = torch.autograd.grad(out, x, grad_outputs=u, retain_graph=True)
        rows.append(grad.reshape(-1))
    return torch.linalg.svdvals(torch.stack(rows).double()).tolist()


def probe_count(code_width: int, values: int) -> int:
    """Enough random probes to see more directions than a code of ``code_width`` carries (8 for narrow codes,
    about twice the width for wide ones), and never more than the model has outputs."""
    return max(1, min(values, max(8, 2 * code_width + 4)))


def effective_rank(singular_values: list[float], rel_tol: float = 1e-5) -> int:
    """How many singular values exceed ``rel_tol`` times the largest."""
    if not singular_values or singular_values[0] == 0:
        return 0
    return sum(s > rel_tol * singular_values[0] for s in singular_values)
