"""The reference models of cpsc663-ex2 against the handout: structure, counts, shapes, skips."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autograder.answer_key import solution_class
from autograder.common.layers import describe_layers, parameters_by_formula
from autograder.common.probes import effective_rank, jacobian_singular_values

# Counted by hand from the layer lists (weights + biases), independently of the code.
PARAMETERS = {
    "CNN": (40 * 25 + 40) + (80 * 40 * 25 + 80) + (1280 * 500 + 500) + (500 * 10 + 10),
    "AE": 2 * (784 * 128 + 128 * 64 + 64 * 12 + 12 * 2) + (128 + 64 + 12 + 2) + (12 + 64 + 128 + 784),
    "CAE": (4 * 9 + 4) + (8 * 4 * 9 + 8) + (392 * 20 + 20) + (20 * 2 + 2)
    + (2 * 20 + 20) + (20 * 392 + 392) + (4 * 8 * 9 + 4) + (1 * 4 * 9 + 1),
}
PARAMETERS["CAE_skip"] = PARAMETERS["CAE"]


@pytest.fixture(scope="module")
def models(cpsc663):
    torch.manual_seed(0)
    return {name: solution_class(cpsc663, name)() for name in cpsc663.models}


def leaves(module: nn.Module) -> list[dict]:
    return describe_layers(module)


def matches(layer: dict, expected) -> bool:
    def same(a, b):
        return a == b or (isinstance(a, list) and all(x == b for x in a))

    return layer["type"] == expected.type and all(
        same(layer["settings"].get(k), v) for k, v in expected.settings.items()
    )


@pytest.mark.parametrize("name", ["CNN", "AE", "CAE", "CAE_skip"])
def test_parameter_count_three_ways(models, name):
    model = models[name]
    by_torch = sum(p.numel() for p in model.parameters())
    assert by_torch == parameters_by_formula(describe_layers(model)) == PARAMETERS[name]


def test_parameter_count_literals():
    assert PARAMETERS == {"CNN": 726_630, "AE": 219_866, "CAE": 16_859, "CAE_skip": 16_859}


@pytest.mark.parametrize("name", ["AE", "CAE", "CAE_skip"])
@pytest.mark.parametrize("shape", [(784,), (1, 28, 28)])
def test_autoencoders_take_both_input_shapes_and_reconstruct_in_0_1(models, name, shape):
    out = models[name](torch.rand(5, *shape))
    assert out.numel() == 5 * 784
    assert 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize("name", ["AE", "CAE", "CAE_skip"])
def test_code_is_two_dimensional_and_forward_is_decoder_of_encoder(models, name, cpsc663):
    model = models[name]
    x = torch.rand(6, *cpsc663.models[name].input.shapes[0])
    encoded = model.encoder(x if name == "AE" else x.reshape(-1, 1, 28, 28))
    code = encoded[0] if isinstance(encoded, tuple) else encoded
    assert code.shape == (6, cpsc663.models[name].checks["code_size"].options["width"]) == (6, 2)
    rebuilt = model.decoder(*encoded) if isinstance(encoded, tuple) else model.decoder(encoded)
    torch.testing.assert_close(rebuilt.reshape(6, -1), model(x).reshape(6, -1))


def test_ae_has_four_linear_layers_each_side_and_no_nonlinearity_at_the_code(models, cpsc663):
    wanted = cpsc663.models["AE"].checks["linear_layers"].options
    encoder, decoder = leaves(models["AE"].encoder), leaves(models["AE"].decoder)
    assert [layer["type"] for layer in encoder].count("Linear") == wanted["encoder"] == 4
    assert [layer["type"] for layer in decoder].count("Linear") == wanted["decoder"] == 4
    assert encoder[-1]["type"] == "Linear" and encoder[-1]["settings"]["out_features"] == 2
    assert decoder[0]["type"] == "Linear" and decoder[0]["settings"]["in_features"] == 2
    assert [layer["type"] for layer in encoder] == ["Linear", "ReLU"] * 3 + ["Linear"]


def test_cae_layers_are_the_handouts_list_in_order(models, cpsc663):
    layers = [layer for layer in leaves(models["CAE"]) if layer["type"] not in ("Flatten", "Unflatten")]
    expected = cpsc663.expected_layers("CAE")
    assert len(layers) == len(expected) + 1 == 19
    for layer, want in zip(layers, expected, strict=False):
        assert matches(layer, want), f"{layer} is not {want}"
    assert layers[-1]["type"] == cpsc663.models["CAE"].checks["output_activation"].options["activation"] == "Sigmoid"


def test_cae_skip_has_the_cae_layers_with_weights(models, cpsc663):
    """CAE_skip applies ReLU and sigmoid functionally, so compare the layers that hold settings."""
    weighted = [w for w in cpsc663.expected_layers("CAE_skip") if w.type not in ("ReLU", "Sigmoid")]
    layers = leaves(models["CAE_skip"])
    assert len(layers) == len(weighted)
    for layer, want in zip(layers, weighted, strict=True):
        assert matches(layer, want), f"{layer} is not {want}"


def test_cae_skip_output_depends_on_the_skip_paths(models):
    model = models["CAE_skip"]
    x = torch.rand(4, 1, 28, 28)
    code, pooled2, pooled1 = model.encoder(x)
    plain = model.decoder(code, pooled2, pooled1)
    assert not torch.allclose(plain, model.decoder(code, torch.zeros_like(pooled2), pooled1))
    assert not torch.allclose(plain, model.decoder(code, pooled2, torch.zeros_like(pooled1)))
    assert pooled2.shape == (4, 8, 7, 7) and pooled1.shape == (4, 4, 14, 14)


@pytest.mark.parametrize("name, bottlenecked", [("AE", True), ("CAE", True), ("CAE_skip", False)])
def test_reconstruction_reaches_the_input_only_through_the_code(models, name, bottlenecked):
    """The Jacobian of the output with respect to the input has rank 2 exactly when it factors through the code."""
    torch.manual_seed(1)
    values = jacobian_singular_values(models[name], torch.rand(1, 1, 28, 28))
    rank = effective_rank(values)
    assert (rank <= 2) == bottlenecked, f"{name}: rank {rank}, singular values {values}"


def test_cnn_first_convolution_has_40_filters_and_outputs_log_probabilities(models, cpsc663):
    cnn = models["CNN"]
    checks = cpsc663.models["CNN"].checks
    assert cnn.conv1.out_channels == checks["first_conv_filters"].options["filters"] == 40
    out = cnn(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, checks["output_shapes"].options["outputs"])
    torch.testing.assert_close(out.exp().sum(dim=1), torch.ones(3))
