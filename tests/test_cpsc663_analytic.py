"""Problems 3.3 and 4.1 and the written derivations: values computed two ways, and the seed's values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from reference.cpsc663_ex2 import backprop, derivations, output_size

# ---------------------------------------------------------------- Problem 3.3


def test_delta3_reproduces_the_seed_students_value():
    np.testing.assert_allclose(backprop.answer().delta3, [0.74693192, -0.33064048], atol=5e-9)


def test_hidden_delta_matches_the_seed_students_code():
    # The seed computed delta2 = W3.T @ delta3 * a2 * (1 - a2); its printed "delta1" is
    # (W2.T @ delta2) * x * (1 - x) = [0.00120696, 0.00367308].
    result = backprop.answer()
    x = np.array(backprop.NETWORK["x"])
    seed_delta1 = (np.array(backprop.NETWORK["W2"]).T @ result.delta2) * x * (1 - x)
    np.testing.assert_allclose(seed_delta1, [0.00120696, 0.00367308], atol=5e-9)


@pytest.mark.parametrize("name", [f.name for f in backprop.Backprop.__dataclass_fields__.values()])
def test_backprop_equations_agree_with_float64_autograd(name):
    by_hand, by_torch = backprop.by_backprop_equations(), backprop.by_autograd()
    np.testing.assert_allclose(getattr(by_hand, name), getattr(by_torch, name), rtol=1e-12, atol=1e-15)


def test_gradients_agree_with_central_finite_differences():
    """A third way: perturb each weight and bias and watch the cost."""
    result, eps = backprop.answer(), 1e-6
    for key, grad in (("W2", result.dC_dW2), ("b2", result.dC_db2), ("W3", result.dC_dW3), ("b3", result.dC_db3)):
        numeric = np.zeros_like(grad)
        for index in np.ndindex(grad.shape):
            costs = []
            for sign in (1, -1):
                net = {k: np.array(v, dtype=np.float64) for k, v in backprop.NETWORK.items()}
                net[key][index] += sign * eps
                costs.append(float(backprop.by_backprop_equations(net).cost))
            numeric[index] = (costs[0] - costs[1]) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, err_msg=key)


def test_bias_gradients_are_the_deltas_and_weight_gradients_their_outer_products():
    r = backprop.answer()
    np.testing.assert_array_equal(r.dC_db3, r.delta3)
    np.testing.assert_array_equal(r.dC_dW2, np.outer(r.delta2, backprop.NETWORK["x"]))


def test_answer_refuses_when_the_two_ways_disagree(monkeypatch):
    wrong = backprop.by_backprop_equations()
    monkeypatch.setattr(
        backprop, "by_backprop_equations",
        lambda net=None: backprop.Backprop(**{**wrong.as_dict(), "delta2": wrong.delta2 * 1.01}),
    )  # fmt: skip
    with pytest.raises(AssertionError, match="Problem 3.3 delta2: backprop equations and autograd disagree"):
        backprop.answer()


def test_there_is_no_input_layer_delta_and_the_key_says_why():
    assert "delta1" not in backprop.Backprop.__dataclass_fields__
    assert "input layer has no error term" in backprop.WHY_NO_INPUT_DELTA
    assert "dC/dx" in backprop.WHY_NO_INPUT_DELTA


# ---------------------------------------------------------------- Problem 4.1


def test_handout_cases():
    assert output_size.answer() == {"a": (49, 49), "b": (9, 9), "c": (23, 23), "d": (49, 49)}


def test_formula_matches_torch_layers_over_a_grid():
    cases = list(output_size.grid())
    assert len(cases) > 500
    for layer, n, k, s, p in cases:
        expected = output_size.by_torch(layer, k, s, p, (n, n + 3))
        assert (output_size.output_size(n, k, s, p), output_size.output_size(n + 3, k, s, p)) == expected, (
            layer, n, k, s, p,
        )  # fmt: skip


def test_formula_rejects_a_kernel_that_does_not_fit():
    with pytest.raises(ValueError, match="kernel 8 does not fit input 5"):
        output_size.output_size(5, 8)


def test_pooling_uses_floor_rounding_like_torch():
    # 50 + 4 - 10 = 44 is divisible by 2, so take a case where it is not: k=3, s=2 on 50
    assert output_size.output_size(50, 3, 2) == nn.MaxPool2d(3, 2)(torch.zeros(1, 1, 50, 50)).shape[-1] == 24


# ---------------------------------------------------------------- written derivations


@pytest.mark.parametrize("problem", list(derivations.CHECKS))
def test_written_derivation_checks_numerically(problem):
    assert derivations.CHECKS[problem]() <= derivations.TOLERANCE


def test_derivation_answer_reports_every_check():
    assert set(derivations.answer()) == {"2.1", "2.2", "2.3", "3.1", "3.2", "bonus"}
