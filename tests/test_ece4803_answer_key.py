"""The answer key of ece4803-hw6: analytic facts computed two ways, the reference models, the export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.answer_key import analytic_answer, solution_class
from autograder.export import export_submission
from autograder.grading.registry import load_assignment
from reference.ece4803_hw6 import analytic
from tests.conftest import ROOT, points_per_problem

ECE = load_assignment("ece4803-hw6")
SEED = ROOT / "submissions" / "ece4803-hw6" / "seed-notebook"


def test_input_and_output_neurons_are_the_pixels_of_one_image():
    assert analytic_answer(ECE, "1a") == {"input_neurons": 64, "output_neurons": 64}


def test_padding_that_keeps_an_8x8_image_under_a_3x3_kernel():
    assert analytic.same_size_padding() == 1


@pytest.mark.parametrize("hidden_size", ECE.subjects["MyMLPAE"].variants["hidden_size"])
def test_mlp_parameters_by_formula_and_by_the_reference_model(hidden_size):
    model = solution_class(ECE, "MyMLPAE")(1, hidden_size)
    assert sum(p.numel() for p in model.parameters()) == analytic.mlp_parameters(hidden_size)
    assert analytic.mlp_parameters(5) == 709


@pytest.mark.parametrize("kernels", ECE.subjects["MyCAE"].variants["num_kernels"])
def test_cae_parameters_by_formula_and_by_the_reference_model(kernels):
    model = solution_class(ECE, "MyCAE")(kernels)
    assert sum(p.numel() for p in model.parameters()) == analytic.cae_parameters(kernels)
    assert analytic.cae_parameters(1) == 20


def test_the_digits_have_rank_61_so_a_linear_autoencoder_of_61_reconstructs_them_exactly():
    from sklearn.datasets import load_digits

    data = load_digits().data
    assert analytic.digits_rank() == 61
    errors = [analytic.pca_error(h, data, data) for h in (5, 20, 40, 60, 61, 80)]
    assert all(a > b for a, b in zip(errors[:4], errors[1:5], strict=True))
    assert errors[4] < 1e-20 * errors[0] + 1e-12 and errors[5] < 1e-12
    # the second way: the variance left in the discarded principal directions
    eigenvalues = np.sort(np.linalg.eigvalsh(np.cov(data.T, bias=True)))[::-1]
    assert errors[0] == pytest.approx(eigenvalues[5:].sum() / 64, rel=1e-9)


def test_reference_classes_take_and_return_the_handouts_shapes():
    mlp, cae = solution_class(ECE, "MyMLPAE")(1, 5), solution_class(ECE, "MyCAE")(1)
    assert mlp(torch.rand(3, 1, 64)).shape == (3, 1, 64) and cae(torch.rand(3, 1, 8, 8)).shape == (3, 1, 8, 8)
    out, z = solution_class(ECE, "MyRegAE")(1, 40)(torch.rand(3, 64))
    assert out.shape == (3, 64) and z.shape == (3, 40)
    assert solution_class(ECE, "DigitsDataset")(np.zeros((2, 64)))[0].shape == (1, 64)
    assert solution_class(ECE, "DigitsDataset_2b")(np.zeros((2, 64)))[0].shape == (1, 8, 8)


def test_points_follow_the_handout_35_35_30():
    assert points_per_problem(ECE) == {"1": 35, "2": 35, "3": 30}


def test_the_written_parts_are_exported_beside_the_handouts_questions(tmp_path):
    result = export_submission(SEED, ECE, tmp_path, pdf=False)
    page = result.html.read_text()
    assert "Problem 1f" in page and "Produce plots showing both the training and test set performances" in page
    assert "This indicate that the code is not really learning anything" in page  # the seed's own answer
    assert "the latent space is not linear" in page and "Problem 3d" in page
