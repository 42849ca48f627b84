"""Every check is a function of what was measured and what is expected: tested here on made-up measurements,
with no worker and no model, each with the message it gives asserted."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.grading.checks import (
    answers,
    behaviour,
    data_sets,
    files,
    functions,
    keras,
    notebooks,
    structure,
    training,
)
from autograder.grading.checks.expected import Expected
from autograder.grading.measure.models import Bottleneck
from autograder.grading.measure.training import Scored, WeightsLoad
from autograder.spec import LayerSpec
from autograder.thresholds import Threshold

check_scatter = functions.check_scatter_colours


def op(kind, **settings):
    return {"op": kind, "settings": settings}


LAYERS = tuple(LayerSpec.parse(t) for t in ("Conv2d(in_channels=1, out_channels=4, kernel_size=3, padding=1)", "ReLU",
                                             "Linear(in_features=4, out_features=2)"))
GOOD_OPS = [op("Conv2d", in_channels=1, out_channels=4, kernel_size=3, stride=1, padding=1), op("ReLU"),
            op("Flatten"), op("Linear", in_features=4, out_features=2), op("Sigmoid")]


# ---------------------------------------------------------------- structure

def test_layer_list_passes_the_handouts_layers_and_names_the_first_difference():
    expected = Expected("CAE", {"layers": LAYERS}, "Problem 6.1")
    assert structure.check_layer_list(GOOD_OPS, expected).passed
    wrong = [op("Conv2d", in_channels=1, out_channels=16, kernel_size=3, stride=1, padding=1), *GOOD_OPS[1:]]
    verdict = structure.check_layer_list(wrong, expected)
    assert not verdict.passed
    assert "layer 1 should be Conv2d(in_channels=1, out_channels=4, kernel_size=3, padding=1), found" \
        in verdict.feedback
    assert "(out_channels 16)" in verdict.feedback and "with the list in Problem 6.1" in verdict.feedback


def test_padding_same_and_the_padding_that_keeps_the_size_are_one_setting():
    expected = Expected("CNN", {"layers": (LayerSpec.parse("Conv2d(kernel_size=3, padding=same)"),)})
    assert structure.check_layer_list([op("Conv2d", kernel_size=3, stride=1, padding=1)], expected).passed
    assert not structure.check_layer_list([op("Conv2d", kernel_size=3, stride=1, padding=0)], expected).passed


def test_a_trailing_activation_is_left_to_its_own_check_unless_the_handout_has_none():
    layers = (LayerSpec.parse("Linear(in_features=4, out_features=2)"),)
    ops = [op("Linear", in_features=4, out_features=2), op("Sigmoid")]
    assert structure.check_layer_list(ops, Expected("M", {"layers": layers})).passed
    verdict = structure.check_layer_list(ops, Expected("M", {"layers": layers, "trailing_activation": False}))
    assert "runs 1 layer(s) after the handout's last: Sigmoid" in verdict.feedback


def test_output_activation():
    assert structure.check_output_activation(GOOD_OPS, Expected("CAE", {"activation": "Sigmoid"})).passed
    verdict = structure.check_output_activation(GOOD_OPS[:-1], Expected("CAE", {"activation": "Sigmoid"}))
    assert verdict.feedback == "CAE's last operation is Linear, not Sigmoid"


def test_linear_layers_counts_each_part_and_wants_nonlinearities_between():
    good = [op("Linear", in_features=4, out_features=3), op("ReLU"), op("Linear", in_features=3, out_features=2)]
    flat = [op("Linear", in_features=4, out_features=3), op("Linear", in_features=3, out_features=2)]
    expected = Expected("AE", {"encoder": 2, "decoder": 2})
    assert structure.check_linear_layers({"encoder": good, "decoder": good}, expected).passed
    verdict = structure.check_linear_layers({"encoder": good[:1], "decoder": flat}, expected)
    assert "the encoder has 1 Linear layers, the handout asks for 2" in verdict.feedback
    assert "the decoder has no nonlinearity between Linear layers" in verdict.feedback


def test_no_nonlinearity_at_the_code_and_none_at_all():
    relu_code = {"encoder": [op("Linear", in_features=3, out_features=2), op("ReLU")],
                 "decoder": [op("Linear", in_features=2, out_features=3)]}
    verdict = structure.check_no_nonlinearity_at_code(relu_code, Expected("AE"))
    assert "the encoder ends with ReLU after its last Linear layer" in verdict.feedback
    verdict = structure.check_no_nonlinearity({"ops": GOOD_OPS}, Expected("MyMLPAE"))
    assert not verdict.passed and "applies ReLU, Sigmoid" in verdict.feedback
    assert structure.check_no_nonlinearity({"ops": [op("Linear", in_features=3, out_features=2)]}, Expected("M")).passed


def test_a_nonlinearity_forward_applies_between_the_encoder_and_the_decoder_is_at_the_code():
    encoder, decoder = [op("Linear", in_features=3, out_features=2)], [op("Linear", in_features=2, out_features=3)]
    between = {"encoder": encoder, "decoder": decoder, "forward": [*encoder, op("Softplus"), *decoder]}
    verdict = structure.check_no_nonlinearity_at_code(between, Expected("AE"))
    assert not verdict.passed
    assert "forward applies Softplus to the code between the encoder and the decoder" in verdict.feedback
    straight = {"encoder": encoder, "decoder": decoder, "forward": [*encoder, *decoder]}
    assert structure.check_no_nonlinearity_at_code(straight, Expected("AE")).passed
    # forward that is not the encoder then the decoder (or untraced, or an unknown op there): nothing read into it
    other = {"encoder": encoder, "decoder": decoder, "forward": [op("ReLU"), *encoder, *decoder]}
    assert structure.check_no_nonlinearity_at_code(other, Expected("AE")).passed
    assert structure.check_no_nonlinearity_at_code({**straight, "forward": None}, Expected("AE")).passed
    unknown = {**straight, "forward": [*encoder, op("Unknown:Mine"), *decoder]}
    assert structure.check_no_nonlinearity_at_code(unknown, Expected("AE")).passed


def test_an_operation_the_tracers_do_not_know_passes_as_linear_only_when_measured_linear():
    ops = [op("Linear", in_features=3, out_features=2), op("Unknown:MyActivation"), op("Linear", in_features=2,
                                                                                       out_features=3)]
    verdict = structure.check_no_nonlinearity({"ops": ops, "affinity": 0.3}, Expected("M"))
    assert not verdict.passed and "applies MyActivation, which is not linear" in verdict.feedback
    verdict = structure.check_no_nonlinearity({"ops": ops, "affinity": 1e-7}, Expected("M"))
    assert verdict.passed and "measured linear" in verdict.feedback


@pytest.mark.parametrize("layer", ["Softplus", "SELU", "PReLU", "Mish", "Hardswish", "LogSigmoid", "CELU", "Softsign"])
def test_every_torch_activation_is_traced_as_one(layer):
    import torch
    from torch import nn

    from autograder.worker.trace import trace_ops

    model = nn.Sequential(nn.Linear(3, 2), getattr(nn, layer)(), nn.Linear(2, 3))
    ops = trace_ops(model, lambda: model(torch.randn(4, 3)))
    assert [o["op"] for o in ops] == ["Linear", layer, "Linear"]
    assert not structure.check_no_nonlinearity({"ops": ops}, Expected("M")).passed
    functional = trace_ops(model, lambda: torch.nn.functional.softplus(model[0](torch.randn(4, 3))))
    assert [o["op"] for o in functional] == ["Linear", "Softplus"]


def test_a_custom_activation_module_is_unknown_and_measured():
    import torch
    from torch import nn

    from autograder.worker.trace import trace_ops

    class Cube(nn.Module):
        def forward(self, x):
            return x * x * x

    class Reshape(nn.Module):
        def forward(self, x):
            return x.view(len(x), 2, 1)

    class MyLinear(nn.Module):  # a custom layer: what it computes is traced
        def __init__(self):
            super().__init__()
            self.weight, self.bias = nn.Parameter(torch.randn(3, 2)), nn.Parameter(torch.zeros(3))

        def forward(self, x):
            return x @ self.weight.T + self.bias

    model = nn.Sequential(nn.Linear(3, 2), Cube(), nn.BatchNorm1d(2), Reshape(), nn.Flatten(), MyLinear()).eval()
    ops = trace_ops(model, lambda: model(torch.randn(4, 3)))
    assert [o["op"] for o in ops if o["op"] != "add"] == [
        "Linear", "Unknown:Cube", "BatchNorm1d", "Reshape", "Flatten", "Linear"]
    assert structure.show(ops[1]) == "Cube (an operation the grader does not know)"


def test_code_size():
    assert structure.check_code_size([4, 2], Expected("AE", {"width": 2})).passed
    verdict = structure.check_code_size([4, 3], Expected("AE", {"width": 2}))
    assert verdict.feedback.startswith("AE.encoder maps an image to a code of shape 3; the handout asks for a 2-D")


def test_parameter_count_from_the_layers_with_free_settings():
    assert structure.expected_parameters(GOOD_OPS[:4]) == (1 * 4 * 9 + 4) + (4 * 2 + 2)
    counted = {"found": 50, "expected": 50, "because": "the handout's layers have"}
    assert structure.check_parameter_count(counted, Expected("CAE")).passed
    verdict = structure.check_parameter_count({**counted, "found": 70}, Expected("CAE"))
    assert "CAE has 70 parameters; the handout's layers have 50." in verdict.feedback


def test_first_convolution_filters():
    assert structure.check_first_conv_filters(GOOD_OPS, Expected("CNN", {"filters": 4})).passed
    verdict = structure.check_first_conv_filters(GOOD_OPS, Expected("CNN", {"filters": 40}))
    assert verdict.feedback == "CNN's first convolution has 4 filters; the handout's has 40"


# ---------------------------------------------------------------- behaviour

def test_output_shapes_accepts_any_allowed_input_and_can_require_one():
    shapes = {"accepted": {(784,): [2, 784], (1, 28, 28): "RuntimeError: mat1 and mat2"}, "returns_tuple": False}
    passed = behaviour.check_output_shapes(shapes, Expected("AE"))
    assert passed.passed and "RuntimeError" not in passed.feedback  # a passing message shows no error
    assert "it does not take (N, 1, 28, 28), which the handout allows too (either is fine)" in passed.feedback
    verdict = behaviour.check_output_shapes(shapes, Expected("PCA_AE", {"require": [[1, 28, 28]]}))
    assert not verdict.passed and "the inputs the handout requires" in verdict.feedback
    verdict = behaviour.check_output_shapes({"accepted": {(784,): [2, 10]}, "returns_tuple": False}, Expected("AE"))
    assert "expected 784 values per example" in verdict.feedback


def test_returns_names_a_batch_split_by_unpacking():
    expected = Expected("Conv_AE", {"count": 2})
    verdict = behaviour.check_returns({"kind": "tensor", "count": 1, "batch": 2, "shapes": [[2, 1, 28, 28]]},
                                      expected)
    assert "returns a single tensor of shape (2, 1, 28, 28)" in verdict.feedback
    assert "which splits a batch of 2 in two without an error and raises for any other" in verdict.feedback
    good = {"kind": "tuple", "count": 2, "batch": 3, "shapes": [[3, 784], [3, 2]]}
    assert behaviour.check_returns(good, expected).passed


def test_bottleneck_checks():
    through, skipped = Bottleneck(rank=2, width=2, probes=8), Bottleneck(rank=8, width=2, probes=8)
    assert behaviour.check_reconstruction_through_code(through, Expected("AE")).passed
    verdict = behaviour.check_reconstruction_through_code(skipped, Expected("AE"))
    assert "moves in 8 independent directions" in verdict.feedback
    assert behaviour.check_skip_connections(skipped, Expected("CAE_skip")).passed
    assert "no working skip connection" in behaviour.check_skip_connections(through, Expected("CAE_skip")).feedback


def test_affine_and_log_probabilities():
    assert behaviour.check_affine(1e-7, Expected("PCA_AE")).passed
    assert "is not linear" in behaviour.check_affine(0.3, Expected("PCA_AE")).feedback
    logp = np.log(np.full((3, 4), 0.25))
    assert behaviour.check_log_probabilities(logp, Expected("CNN")).passed
    verdict = behaviour.check_log_probabilities(np.zeros((3, 4)), Expected("CNN"))
    assert "sum to 4 to 4 per row, not 1" in verdict.feedback


# ---------------------------------------------------------------- training and weights

MSE = Threshold("r", "reconstruction MSE", "at most", 0.06, "data", True)


def test_brief_training_passes_on_a_second_seed_and_fails_naming_both():
    scored = Scored((0.07, 0.05), "reconstruction MSE", MSE, "400 steps", "the reference reaches 0.04")
    verdict = training.check_brief_training(scored, Expected("AE"))
    assert verdict.passed and "on a second seed; the first gave 0.07" in verdict.feedback
    verdict = training.check_brief_training(Scored((0.07, 0.08), "reconstruction MSE", MSE, "400 steps", "bar"),
                                            Expected("AE"))
    assert "reaches reconstruction MSE 0.07 and 0.08 on held-out data (two seeds)" in verdict.feedback
    assert "does not learn as the reference does" in verdict.feedback


def test_weights_load_names_what_does_not_fit():
    header = {"loaded": False, "problem": "keys", "missing": ["fc.weight"], "unexpected": [], "mismatched": {}}
    verdict = training.check_weights_load(WeightsLoad("ae.pt", header, None, None, None), Expected("AE"))
    assert "ae.pt does not fit AE: missing keys fc.weight" in verdict.feedback
    renamed = WeightsLoad("ae.pt", {"loaded": True}, "ae.pth", None, None)
    verdict = training.check_weights_load(renamed, Expected("AE", {"names": ["ae.pt"]}))
    assert "the submission has ae.pth instead. Rename it to ae.pt" in verdict.feedback


def test_trained_weights_against_the_trained_bar():
    loaded = WeightsLoad("ae.pt", {"loaded": True}, None, None, None)
    good = Scored((0.05,), "reconstruction MSE", MSE, "", "bar")
    assert training.check_trained_weights((loaded, good), Expected("AE")).passed
    verdict = training.check_trained_weights((loaded, Scored((0.2,), "reconstruction MSE", MSE, "", "bar")),
                                             Expected("AE"))
    assert "a trained model reaches reconstruction MSE at most 0.06" in verdict.feedback


def test_sweep_trend_compares_the_halves_of_the_sweep():
    sweep = {"argument": "hidden_size", "values": [5, 20, 40, 80], "errors": [0.26, 0.06, 0.01, 0.001],
             "metric": "MSE on held-out data"}
    verdict = training.check_sweep_trend(sweep, Expected("MyMLPAE"))
    assert verdict.passed and "the MSE on held-out data of MyMLPAE falls as hidden_size grows" in verdict.feedback
    noisy = {**sweep, "errors": [0.0005, 0.0015, 0.0001, 0.00012]}  # near zero, brief training is noisy
    assert training.check_sweep_trend(noisy, Expected("MyCAE")).passed
    flat = {**sweep, "errors": [0.26, 0.25, 0.26, 0.25]}
    verdict = training.check_sweep_trend(flat, Expected("MyMLPAE"))
    assert not verdict.passed and "reach 1 times the error of the smaller half (at most 0.5 expected)" in \
        verdict.feedback
    rising_end = {**sweep, "errors": [0.2, 0.01, 0.01, 0.3]}
    assert not training.check_sweep_trend(rising_end, Expected("MyMLPAE")).passed


# ---------------------------------------------------------------- files, notebooks, answers

def test_file_checks():
    assert files.check_file_present({"present": True, "renamed_from": None, "look_alikes": []}, Expected("a.py")).passed
    verdict = files.check_file_present({"present": False, "renamed_from": None, "look_alikes": ["A.py"]},
                                       Expected("a.py"))
    assert "Found A.py: rename it to a.py" in verdict.feedback
    assert files.check_module_imports({"empty": True}, Expected("a.py")).feedback == "a.py is empty"
    error = {"error": {"type": "ValueError", "message": "oops", "frames": []}, "modules": ["AE"]}
    assert "importing a.py raised ValueError: oops; the grader kept" in \
        files.check_module_imports(error, Expected("a.py")).feedback


def test_notebook_runs():
    assert notebooks.check_notebook_runs(None, Expected("")).passed
    assert not notebooks.check_notebook_runs(None, Expected("", {"required": True})).passed
    report = {"ran": True, "cells": [{"index": 2, "status": "error", "first_line": "x = y",
                                      "error": {"ename": "NameError", "evalue": "name 'y' is not defined"}}]}
    verdict = notebooks.check_notebook_runs(report, Expected("hw.ipynb"))
    assert "1 of 1 code cells failed: cell 3 (`x = y`) raised NameError: name 'y' is not defined" in verdict.feedback


def test_numeric_answers():
    expected = Expected("delta3", {"rtol": 1e-3}, "Problem 3.3")
    answer = {"file": "answers.py", "found": [0.7469, -0.3306], "type": "list", "expected": [0.74693192, -0.33064048]}
    assert answers.check_numeric_answer(answer, expected).passed
    assert "does not match the answer key" in answers.check_numeric_answer({**answer, "found": [0.7, -0.3]},
                                                                           expected).feedback
    assert "defines no variable delta3 (Problem 3.3)" in answers.check_numeric_answer({"file": "answers.py"},
                                                                                      expected).feedback
    failed = answers.check_numeric_answer({"file": "answers.py", "import_failed": "SyntaxError"}, expected)
    assert "answers.py could not be imported (SyntaxError)" in failed.feedback


# ---------------------------------------------------------------- data sets, functions, Keras

def _items(dtype="float32", shape=(1, 64), values=None):
    sent = np.arange(128, dtype=np.float64).reshape(2, 64)
    found = values if values is not None else sent
    return {"length": 2, "sent": {"X": sent, "Y": np.zeros(2)},
            "items": [{"index": i, "tuple": False,
                       "elements": [{"type": "Tensor", "dtype": dtype, "shape": list(shape)}]} for i in range(2)],
            "values": {i: [found[i].reshape(shape)] for i in range(2)}}


def test_data_set_checks():
    expected = Expected("DigitsDataset", {"item_shape": [1, 64]})
    assert data_sets.check_dataset_length(_items(), expected).passed
    assert data_sets.check_item_shape(_items(), expected).passed
    assert data_sets.check_item_values(_items(), expected).passed
    assert "has dtype float64; the handout asks for float32" in \
        data_sets.check_item_shape(_items("float64"), expected).feedback
    assert "has shape (64,); the handout asks for (1, 64)" in \
        data_sets.check_item_shape(_items(shape=(64,)), expected).feedback
    swapped = _items(values=np.arange(128, dtype=np.float64).reshape(2, 64)[::-1])
    assert "does not hold example 0 of X" in data_sets.check_item_values(swapped, expected).feedback
    assert "returns a Tensor, not (input, label)" in \
        data_sets.check_item_shape(_items(), Expected("D", {"item_shape": [1, 64], "label": True})).feedback


def test_function_values_and_histories():
    cases = [{"args": [28, 3], "kwargs": {}, "found": 26, "expected": 26},
             {"args": [28, 5], "kwargs": {"stride": 2}, "found": 12.5, "expected": 12}]
    verdict = functions.check_function_values(cases, Expected("conv_output_size"))
    assert verdict.feedback == ("conv_output_size(28, 5, stride=2) does not give the answer key's value "
                                "(relative tolerance 1e-06)")
    assert functions.check_function_values(cases[:1], Expected("conv_output_size")).passed

    def history(loss, val):
        return {"type": "History", "history": {"type": "dict", "items": {
            "loss": {"type": "list", "items": [loss]}, "val_loss": {"type": "list", "items": [val]}}}}

    sweep = {"argument": "code_size", "results": [{"kwargs": {"code_size": c}, "value": history(0.3 - c / 1000, 0.31
                                                  - c / 1000)} for c in (5, 50, 95)]}
    expected = Expected("trainShallowEncoder", {"keys": ["loss", "val_loss"]})
    assert functions.check_returns_history(sweep, expected).passed
    assert functions.check_history_trend(sweep, expected).passed
    verdict = functions.check_history_trend(sweep, Expected("t", {"keys": ["loss"], "min_drop": 0.5}))
    assert "the final loss of t should fall as code_size grows, but it falls by less than 50%" in verdict.feedback
    model = {**sweep, "results": [{**r, "value": {"type": "Functional"}} for r in sweep["results"]]}
    assert "returns a Functional, not the History that fit returns" in \
        functions.check_returns_history(model, expected).feedback


def test_a_python_int_label_is_an_int64_label_and_an_int32_one_is_not():
    def labelled(label_dtype):
        items = _items(shape=(4, 4, 4))
        for item in items["items"]:
            item["tuple"] = True
            item["elements"].append({"type": label_dtype, "dtype": label_dtype, "shape": []})
        return items

    expected = Expected("Image_Dataset", {"item_shape": [4, 4, 4], "label": True})
    assert data_sets.check_item_shape(labelled("int"), expected).passed
    assert data_sets.check_item_shape(labelled("int64"), expected).passed
    verdict = data_sets.check_item_shape(labelled("int32"), expected)
    assert verdict.feedback == "the label of Image_Dataset(...)[0] has dtype int32; the handout asks for int64"


def _arrays(*series):
    return {"type": "tuple", "items": [{"type": "ndarray", "dtype": "float64", "shape": [len(s)], "values": list(s)}
                                       for s in series]}


def test_returns_arrays_one_value_per_epoch_and_a_falling_loss():
    expected = Expected("train_cnn", {"count": 4, "length": 3, "falls": [0]})
    good = {"value": _arrays([1.0, 0.6, 0.4], [1.1, 0.9, 0.8], [0.3, 0.6, 0.8], [0.3, 0.5, 0.7])}
    assert functions.check_returns_arrays(good, expected).passed
    rising = {"value": _arrays([1.2, 1.5, 2.0], [1.1, 0.9, 0.8], [0.3, 0.6, 0.8], [0.3, 0.5, 0.7])}
    assert functions.check_returns_arrays(rising, expected).feedback == (
        "train_cnn's returned value 1 (a training loss) does not fall: 1.2 in the first epoch, 2 in the last")
    assert "returns a tuple of 2; the handout asks for 4 arrays" in \
        functions.check_returns_arrays({"value": _arrays([1.0, 0.5, 0.2], [1.0, 0.5, 0.2])}, expected).feedback
    short = {"value": _arrays([1.0, 0.6], [1.1, 0.9], [0.3, 0.6], [0.3, 0.5])}
    assert "returned value 1 holds 2 number(s); the handout asks for one per epoch (3)" in \
        functions.check_returns_arrays(short, expected).feedback


def test_training_loop_names_unzeroed_gradients_the_optimizer_and_the_loss():
    expected = Expected("train_ae", {"optimizer": "Adam", "loss": "MSELoss"})
    good = {"training": {"steps": 30, "zero_grads": 30, "optimizers": ["Adam"], "losses": ["MSELoss"]}}
    assert functions.check_training_loop(good, expected).feedback == (
        "train_ae took 30 Adam steps on the MSELoss, zeroing the gradients before each")
    bad = {"training": {"steps": 30, "zero_grads": 0, "optimizers": ["SGD"], "losses": ["L1Loss"]}}
    assert functions.check_training_loop(bad, expected).feedback == (
        "train_ae: it zeroed the gradients 0 time(s) for 30 optimizer steps, so gradients accumulate from step to "
        "step: call optimizer.zero_grad() before each backward pass; it trains with SGD, not Adam; its loss is "
        "L1Loss, not MSELoss")
    by_hand = {"training": {"steps": 30, "zero_grads": 30, "optimizers": ["Adam"], "losses": []}}
    verdict = functions.check_training_loop(by_hand, expected)
    assert verdict.passed and "its loss is written by hand, so the grader did not check that it is the MSELoss" in \
        verdict.feedback
    assert functions.check_training_loop({"training": {"steps": 0}}, expected).feedback == \
        "train_ae took no optimizer step"


def test_matches_accuracy_takes_a_fraction_or_a_percentage_over_all_examples():
    predicted = np.eye(3)[[0, 1, 2, 0]]  # predicts 0, 1, 2, 0
    call = {"predicted": predicted, "labels": np.array([0, 1, 1, 1])}  # 2 of 4 right
    expected = Expected("evaluate_model")
    assert functions.check_matches_accuracy({**call, "value": 0.5}, expected).passed
    assert functions.check_matches_accuracy({**call, "value": 50.0}, expected).passed
    verdict = functions.check_matches_accuracy({**call, "value": 1.0}, expected)
    assert "returns 1 for a model whose accuracy on those 4 examples is 0.5" in verdict.feedback
    listed = {**call, "value": {"type": "ndarray", "dtype": "float64", "shape": [20000], "cut": True}}
    assert "returns an array of shape (20000,), not one accuracy" in \
        functions.check_matches_accuracy(listed, expected).feedback


def test_matches_encoder_compares_codes_in_order_and_names_a_wrong_shape():
    codes = np.arange(12, dtype=np.float64).reshape(4, 3)
    expected = Expected("encode_samples")
    same = {"type": "ndarray", "dtype": "float32", "shape": [4, 3], "values": codes.tolist()}
    assert functions.check_matches_encoder({"value": same, "predicted": codes}, expected).passed
    shuffled = {**same, "values": codes[::-1].tolist()}
    assert "not the encoder's codes of the loader's first 4 examples, in order" in \
        functions.check_matches_encoder({"value": shuffled, "predicted": codes}, expected).feedback
    large = {"type": "ndarray", "dtype": "float32", "shape": [4, 784]}  # too large to be sent with its values
    assert functions.check_matches_encoder({"value": large, "predicted": codes}, expected).feedback == (
        "encode_samples returns an array of shape (4, 784); the model's encoder gives (4, 3) for those examples")


def test_value_shape_reads_the_shape_of_arrays_too_large_to_send():
    expected = Expected("encoded_samples", {"shape": [800, 3]}, "Exercise 3.4")
    answer = {"file": "sheet.ipynb", "found": None, "type": "ndarray", "shape": (800, 150)}
    assert answers.check_value_shape(answer, expected).feedback == \
        "encoded_samples has shape (800, 150); Exercise 3.4 asks for (800, 3)"
    assert answers.check_value_shape({**answer, "shape": (800, 3)}, expected).passed
    assert "is a str, not an array" in answers.check_value_shape({"file": "f", "found": None, "type": "str"},
                                                                  expected).feedback


def test_scatter_colours_must_be_the_labels_of_the_samples_plotted():
    def plot(colours, *recent, cell=9):
        return {"cell": cell, "points": len(colours or [0, 0, 0, 0]), "three_d": True, "colours": colours,
                "recent_labels": [list(r) for r in recent]}

    expected = Expected("encode_samples")
    same = {"problem": "Exercise 3.4", "scatters": [plot([3.0, 1.0, 4.0, 1.0], (7, [5, 9, 2]), (8, [3, 1, 4, 1, 5]))]}
    assert check_scatter(same, expected).feedback == ("the 4 points of the scatter in Exercise 3.4 are coloured by "
                                                      "the labels of the samples the DataLoader gave in cell 9, in "
                                                      "the same order")
    wrong = {"problem": "Exercise 3.4", "scatters": [plot([0.0, 0.0, 0.0, 0.0], (8, [3, 1, 4, 1, 5]))]}
    assert check_scatter(wrong, expected).feedback == (
        "the 4 points of the scatter in Exercise 3.4 are coloured 0, 0, 0, 0 (1 distinct value), but the samples the "
        "DataLoader gave in cell 9 (those encoded there) have the labels 3, 1, 4, 1 (3 distinct values): the colours "
        "do not belong to the points. Take the labels from the same batches as the samples, or encode a loader with "
        "shuffle=False")
    no_loader = {"problem": "Exercise 3.4", "scatters": [plot([0.0, 1.0, 2.0, 3.0])]}
    assert "its samples did not come from a DataLoader" in check_scatter(no_loader, expected).feedback
    plain = {"problem": "Exercise 3.4", "scatters": [plot(None)]}
    assert "is not coloured by the labels" in check_scatter(plain, expected).feedback
    per_class = {"problem": "Exercise 3.4", "scatters": [plot(None), plot(None)]}
    assert check_scatter(per_class, expected).passed
    assert check_scatter({"problem": "Exercise 3.4", "scatters": []}, expected).feedback == \
        "no scatter plot is drawn in Exercise 3.4's cells"


def test_keras_compile_and_fit_checks():
    compiled = {"loss": "mse", "optimizer": "Adam", "learning_rate": 0.001}
    verdict = keras.check_compiled_with(compiled, Expected("shallow", {"loss": "binary_crossentropy",
                                                                      "optimizer": "adam"}))
    assert verdict.feedback == "shallow: the loss is mse, not binary_crossentropy"
    fit = {"comparable": True, "same_target": False, "noise_std": 0.17, "inputs_min": 0.0, "inputs_max": 1.0}
    assert keras.check_fit_noise(fit, Expected("denoising", {"noise_std": 0.2})).passed
    assert "no noise was added" in keras.check_fit_noise({"comparable": True, "same_target": True},
                                                          Expected("denoising", {"noise_std": 0.2})).feedback
    unclipped = {**fit, "inputs_min": -0.6, "inputs_max": 1.7}
    assert "not clipped to [0, 1]" in keras.check_fit_noise(unclipped, Expected("d", {"noise_std": 0.2})).feedback


@pytest.mark.parametrize("module", [answers, behaviour, data_sets, files, functions, keras, notebooks, structure,
                                    training])
def test_checks_never_reach_the_worker(module):
    """A check module imports no worker client, no context and no measurement: it judges what it is given."""
    source = open(module.__file__).read()
    for forbidden in ("from ..link", "from ..measure", "from ..context", "GradingContext", "ctx"):
        assert forbidden not in source, f"{module.__name__} mentions {forbidden}"


def test_a_reconstruction_that_gives_back_the_held_out_images_exactly_is_a_copy_not_a_model():
    from types import SimpleNamespace

    from autograder.grading.measure.training import score
    from autograder.grading.outcomes import CheckFailed
    from autograder.grading.registry import load_assignment
    from autograder.tasks import TaskData

    assignment = load_assignment("cpsc663-ex2")
    ctx = SimpleNamespace(assignment=assignment)
    images = np.random.default_rng(0).random((16, 1, 28, 28), dtype=np.float32)
    data = TaskData(images, None, images, images.reshape(16, -1), np.zeros(16))
    assert score(ctx, "ae-brief", data, images.reshape(16, -1) * 0.9) > 0  # close, not exact: scored
    with pytest.raises(CheckFailed, match="gives back the held-out images exactly.*does forward return its input"):
        score(ctx, "ae-brief", data, images.reshape(16, -1))
