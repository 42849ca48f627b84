"""mle-sheet6: Exercise 1 two ways, the reference models' sizes against the sheet's printed counts, the
seed's conventions and bugs as the grader reads them, SIGNS not gradable without the course's files, and
training in a notebook cut without changing what its loops bind."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.answer_key import solution_class
from autograder.export import export_submission
from autograder.grading.registry import load_assignment
from autograder.grading.runner import grade
from reference.mle_sheet6 import analytic
from tests.conftest import ROOT, points_per_problem

MLE = load_assignment("mle-sheet6")
EXAMPLES = ROOT / "submissions" / "mle-sheet6"


def test_the_sum_of_two_gaussians_symbolically_numerically_and_by_sampling():
    exponent, prefactor = analytic.gaussian_sum_symbolic()
    assert exponent == 0 and prefactor == 0
    assert analytic.gaussian_sum_numeric() < 1e-10
    mean, variance = analytic.gaussian_sum_sampled()
    assert mean == pytest.approx(-2.0, abs=0.01) and variance == pytest.approx(4.25, abs=0.02)
    mean, variance = analytic.gaussian_sum_sampled(0.3, 1.0, 2.5, 3.0)
    assert mean == pytest.approx(2.8, abs=0.01) and variance == pytest.approx(10.0, abs=0.05)


def test_the_output_size_formula_agrees_with_conv2d_and_the_sheets_sizes():
    assert analytic.output_size_mismatches() == 0
    assert analytic.output_size(64, 3, padding=1) == 64
    assert [analytic.output_size(n, 2, stride=1) for n in (28, 27, 26)] == [27, 26, 25]
    assert analytic.decoder_sizes() == [(7, 7), (14, 14), (28, 28)]


def test_parameter_counts_by_hand_match_the_reference_models_and_the_sheets_printouts():
    def count(model):
        return sum(p.numel() for p in model.parameters())

    assert analytic.cnn_parameters() == count(solution_class(MLE, "CNN_Classifier")()) == 131_958
    conv_ae = solution_class(MLE, "Conv_AE")
    for latent, printed in ((2, 128_259), (3, 168_836), (10, 452_875), (150, 6_133_655)):
        assert analytic.conv_ae_parameters(latent) == count(conv_ae(latent)) == printed == 40_577 * latent + 47_105
    assert analytic.pca_ae_parameters() == count(solution_class(MLE, "PCA_AE")(784, 10)) == 16_474


def test_the_reference_models_have_the_shapes_the_sheet_asks_for():
    import torch

    reconstruction, latent = solution_class(MLE, "Conv_AE")(3)(torch.zeros(4, 1, 28, 28))
    assert reconstruction.shape == (4, 1, 28, 28) and latent.shape == (4, 3)
    out, code = solution_class(MLE, "PCA_AE")(784, 10)(torch.zeros(4, 1, 28, 28))
    assert out.shape == (4, 1, 28, 28) and code.shape == (4, 10)
    log_probabilities = solution_class(MLE, "CNN_Classifier")()(torch.zeros(2, 3, 64, 64))
    np.testing.assert_allclose(log_probabilities.exp().sum(dim=1).detach().numpy(), 1.0, rtol=1e-5)


def test_points_are_100_split_15_40_45_between_the_exercises():
    assert points_per_problem(MLE) == {"1": 15, "2": 40, "3": 45}


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
def test_without_signs_its_accuracy_is_not_gradable_and_the_notebook_runs_on_a_labelled_stand_in():
    result = grade(EXAMPLES / "answer-key", device="cpu", keyword="notebook or CNN_Classifier")
    assert [c.check_id for c in result.not_gradable()] == ["2.1/CNN_Classifier/signs_training"]
    assert "SIGNS is not public" in result.not_gradable()[0].feedback
    assert any("the grader wrote a stand-in (a stand-in for SIGNS, not SIGNS" in n for n in result.notes)
    standin = next(c for c in result.checks if c.check_id == "2.1/CNN_Classifier/standin_training")
    assert standin.passed, standin.feedback
    assert result.checks[0].check_id == "notebook/runs" and result.checks[0].passed


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
def test_the_seeds_task_4_is_graded_on_the_model_and_the_labels_it_really_used():
    """The seed encodes with the last model of its latent-size loop (150), not the latent-3 one (only a loop
    that runs to its end shows that, however the grader cuts its training), and colours the samples of a
    shuffled loader with the data set's first 800 labels."""
    result = grade(EXAMPLES / "seed-notebook", device="cpu", keyword="notebook or answers")
    shape = next(c for c in result.checks if c.check_id == "3.4/answers/encoded_samples")
    assert not shape.passed and "has shape (800, 150)" in shape.feedback
    colours = grade(EXAMPLES / "seed-notebook", device="cpu", keyword="scatter_colours").checks[0]
    assert not colours.passed and "the colours do not belong to the points" in colours.feedback
    assert result.checks[0].passed, result.checks[0].feedback
    assert any("was cut to a few optimizer steps" in n for n in result.notes)


def test_the_written_parts_are_exported_with_the_seeds_derivation(tmp_path):
    result = export_submission(EXAMPLES / "seed-notebook", MLE, tmp_path, pdf=False)
    page = result.html.read_text()
    assert "Derive the probability density function of Z = X + Y" in page
    assert "complete the square in the exponent" in page  # the seed's own derivation, under Exercise 1
    assert "we may add more latent dimensions to our PCA autodecoder" in page  # its observation, under 3.4
