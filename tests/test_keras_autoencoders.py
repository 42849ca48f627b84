"""keras-autoencoders: the gradients of 2 (a) three ways, the reference models' sizes, and how Keras notebooks are
read: Keras 2 spellings, tensorflow.keras imports, a missing Fashion-MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.export import export_submission
from autograder.grading.registry import load_assignment
from autograder.grading.runner import grade
from reference.keras_autoencoders import gradients, models
from tests.conftest import ROOT

KERAS = load_assignment("keras-autoencoders")
EXAMPLES = ROOT / "submissions" / "keras-autoencoders"


def test_the_worked_example_of_2a_by_equations_autograd_and_finite_differences():
    answer = gradients.answer()  # asserts the three ways agree
    assert float(answer["L"]) == pytest.approx(0.504754, abs=1e-6)
    np.testing.assert_allclose(answer["W2"], [[-0.06232, -0.02492], [0.07872, -0.11536], [0, 0.02576]], atol=1e-5)
    np.testing.assert_allclose(answer["b2"], [-0.254, -0.728, 0.184], atol=1e-6)
    np.testing.assert_allclose(answer["W1"], [[-0.01708, -0.00244, -0.0122], [-0.11912, -0.53604, 0]], atol=1e-5)
    np.testing.assert_allclose(answer["b1"], [-0.0244, -0.5956], atol=1e-6)


@pytest.mark.parametrize("seed", range(10))
def test_the_gradient_equations_agree_with_autograd_on_random_autoencoders(seed):
    rng = np.random.default_rng(seed)
    n, d, h = rng.integers(2, 9), rng.integers(3, 12), rng.integers(2, 7)
    case = {"X": rng.random((n, d)), "W1": rng.standard_normal((h, d)), "b1": rng.standard_normal(h),
            "W2": rng.standard_normal((d, h)), "b2": rng.standard_normal(d)}
    equations, autograd = gradients.by_equations(**case), gradients.by_autograd(**case)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(equations[key], autograd[key], atol=1e-12)


def test_the_seed_students_gradient_is_wrong_as_the_rubric_says():
    """Its dL/dW2 = (dL/dx_hat) h^T with dL/dx_hat = -2: no residual, no 1/n, no mask, no sum over samples."""
    example = {k: np.asarray(v) for k, v in gradients.EXAMPLE.items()}
    hidden = np.maximum(example["X"] @ example["W1"].T + example["b1"], 0)
    seed_w2 = -2 * np.outer(np.ones(3), hidden[0])
    assert np.abs(seed_w2 - gradients.answer()["W2"]).max() > 0.3  # 0.306: wrong, not a rounding


@pytest.mark.parametrize("widths, count", [([784, 32, 784], 50_992), ([784, 128, 32, 128, 784], 209_968),
                                           ([784, 5, 784], 8_629), ([784, 95, 784], 149_839)])
def test_parameter_counts_by_formula_keras_and_torch(widths, count):
    assert models.parameters(widths) == count
    model = models.shallow(widths[1]) if len(widths) == 3 else models.deep(widths[1], widths[2])
    assert model.count_params() == count == sum(p.numel() for p in model.parameters())


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
def test_keras_2_spellings_and_tensorflow_imports_are_served_and_said():
    result = grade(EXAMPLES / "tensorflow-keras-imports", device="cpu", keyword="shallow and not training")
    assert result.checks and not result.failed(), [c.feedback for c in result.failed()]
    notes = " ".join(result.notes)
    assert "tensorflow.keras imports were served by Keras 3" in notes
    assert "Adam(lr=...) is Keras 2's spelling" in notes


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
def test_without_fashion_mnist_only_its_checks_are_not_gradable_and_the_notebook_runs_on_a_stand_in():
    result = grade(EXAMPLES / "answer-key", device="cpu", keyword="fashion or notebook")
    assert {c.check_id for c in result.not_gradable()} == {f"2b/{m}/fashion_training"
                                                           for m in ("shallow", "deep", "denoising")}
    assert all("not gradable here: data set 'fashion' is not on this machine" in c.feedback
               for c in result.not_gradable())
    assert any("fashion-mnist is not on this machine, so loading it gave mnist instead" in n for n in result.notes)
    assert result.checks[0].check_id == "notebook/runs" and result.checks[0].passed


def test_the_written_parts_are_exported_with_the_seeds_answers(tmp_path):
    result = export_submission(EXAMPLES / "seed-notebook", KERAS, tmp_path, pdf=False)
    page = result.html.read_text()
    assert "Calculate the gradients of a simple autoencoder" in page
    assert "too simple a model with low complexity" in page  # the seed's own 2 (a) answer
    assert "bias/variance" in page and "Model complexity increases as code size increases" in page
