"""Checks of what a model is made of: it builds, its layers, its code, its parameter count."""

from __future__ import annotations

import math

from ...layers import layer_parameters_by_formula
from ...results import Verdict
from ...spec import LayerSpec, ModelSpec
from ...worker.trace import NONLINEARITIES, SHAPE_OPS
from ..context import CheckFailed, GradingContext

WEIGHTED = {"Conv2d", "ConvTranspose2d", "Linear"}


def traced_ops(ctx: GradingContext, model: ModelSpec, part: str = "forward") -> list[dict]:
    """The ops a part of the model runs on one real image (cached per part)."""
    key = ("trace", model.name, part)
    if key not in ctx.cache:
        shape = ctx.usable_input_shape(model, part)
        image = ctx.as_input(ctx.real_images(1), shape)
        if part == "decoder":
            code = encode(ctx, model, image)
            arrays = {"in0": code}
        else:
            arrays = {"in0": image}
        try:
            header, _ = ctx.call("trace", f"running {model.name}.{part}", arrays=arrays,
                                 model=ctx.probe(model).ref, part=part)
            ctx.cache[key] = header["ops"]
        except CheckFailed as failure:
            ctx.cache[key] = failure
    if isinstance(ctx.cache[key], CheckFailed):
        raise ctx.cache[key]
    return ctx.cache[key]


def encode(ctx: GradingContext, model: ModelSpec, images):
    """The code the encoder gives for ``images`` (the first tensor if it returns several)."""
    attributes = ctx.probe(model).describe["attributes"]
    if not attributes.get("encoder"):
        raise CheckFailed(f"{model.name} has no `encoder` attribute; the handout's contract asks for "
                          "`encoder` and `decoder`, with forward(x) = decoder(encoder(x))")
    header, out = ctx.call("forward", f"running {model.name}.encoder", arrays={"in0": images},
                           model=ctx.probe(model).ref, part="encoder")
    if not out:
        raise CheckFailed(f"{model.name}.encoder returned {header['kind']}, not a tensor")
    return out["out0"]


def layers_only(ops: list[dict]) -> list[dict]:
    return [op for op in ops if op["op"] not in SHAPE_OPS and op["op"] != "Dropout"]


def _same(found, wanted) -> bool:
    if isinstance(found, list) and not isinstance(wanted, list):
        return all(_same(f, wanted) for f in found)
    if isinstance(found, (int, float)) and isinstance(wanted, (int, float)):
        return float(found) == float(wanted)
    return found == wanted


def _show(op: dict) -> str:
    return str(LayerSpec(op["op"], op.get("settings") or {}))


def _relaxed_keys(ops: list[dict], index: int) -> set[str]:
    """Settings not compared for the layer at ``index``: input widths right after a concatenation."""
    for op in reversed(ops[:index]):
        if op["op"] == "cat":
            return {"in_channels", "in_features"}
        if op["op"] in WEIGHTED:
            break
    return set()


def compare_layers(ops: list[dict], expected: tuple[LayerSpec, ...]) -> str | None:
    """The first difference between the traced ops and the expected layers, in words; None if they match.

    One nonlinearity after the last expected layer is left to the output-activation check.
    """
    positions = [i for i, op in enumerate(ops) if op["op"] not in SHAPE_OPS and op["op"] != "Dropout"]
    for n, want in enumerate(expected):
        if n >= len(positions):
            return f"layer {n + 1} should be {want}, but the forward pass ends after {len(positions)} layers"
        op = ops[positions[n]]
        relaxed = _relaxed_keys(ops, positions[n])
        if op["op"] != want.type:
            return f"layer {n + 1} should be {want}, found {_show(op)}"
        for key, value in want.settings.items():
            if key not in relaxed and not _same(op["settings"].get(key), value):
                return f"layer {n + 1} should be {want}, found {_show(op)} ({key} {op['settings'].get(key)})"
    trailing = positions[len(expected):]
    if len(trailing) == 1 and ops[trailing[0]]["op"] in NONLINEARITIES:
        trailing = []  # the output activation: checked on its own
    if trailing:
        extra = ", ".join(_show(ops[i]) for i in trailing)
        return f"the forward pass runs {len(trailing)} layer(s) after the handout's last: {extra}"
    return None


# ---------------------------------------------------------------- checks


def check_class_constructs(ctx: GradingContext, model: ModelSpec) -> Verdict:
    probe = ctx.probe(model)
    return Verdict(True, f"{model.name}() builds ({probe.describe['parameters']:,} parameters, "
                         f"defined in {probe.ref['file']})")


def check_layer_list(ctx: GradingContext, model: ModelSpec) -> Verdict:
    expected = ctx.assignment.expected_layers(model.name)
    ops = traced_ops(ctx, model)
    difference = compare_layers(ops, expected)
    if difference:
        return Verdict(False, f"{model.name}'s layers differ from the handout's list: {difference}. "
                              "Compare your forward pass with the list in Problem 6.1, in order.")
    concatenated = any(op["op"] == "cat" for op in ops)
    extra = " (skip connections by concatenation accepted)" if concatenated else ""
    return Verdict(True, f"{model.name} runs the handout's {len(expected)} layers in order{extra}")


def check_output_activation(ctx: GradingContext, model: ModelSpec) -> Verdict:
    wanted = ctx.assignment.output_activation(model.name)
    ops = layers_only(traced_ops(ctx, model))
    last = ops[-1]["op"] if ops else "nothing"
    if last != wanted:
        return Verdict(False, f"{model.name}'s last operation is {last}, not {wanted}; the handout ends the "
                              f"decoder with {wanted} (for a Sigmoid: to cast the values to the range 0 to 1)")
    return Verdict(True, f"{model.name} ends with {wanted}")


def check_linear_layers(ctx: GradingContext, model: ModelSpec) -> Verdict:
    problems = []
    for part, wanted in (("encoder", model.encoder_linear_layers), ("decoder", model.decoder_linear_layers)):
        if not ctx.probe(model).describe["attributes"].get(part):
            raise CheckFailed(f"{model.name} has no `{part}` attribute; the handout's contract asks for "
                              "`encoder` and `decoder`")
        ops = layers_only(traced_ops(ctx, model, part))
        linear = [i for i, op in enumerate(ops) if op["op"] == "Linear"]
        if len(linear) != wanted:
            problems.append(f"the {part} has {len(linear)} Linear layers, the handout asks for {wanted}")
        for a, b in zip(linear, linear[1:], strict=False):
            if not any(op["op"] in NONLINEARITIES for op in ops[a + 1 : b]):
                problems.append(f"the {part} has no nonlinearity between Linear layers {_show(ops[a])} "
                                f"and {_show(ops[b])}")
    if problems:
        return Verdict(False, f"{model.name}: " + "; ".join(problems) + ".")
    return Verdict(True, f"{model.name} has {model.encoder_linear_layers} Linear layers with nonlinearities "
                         f"between them in the encoder and {model.decoder_linear_layers} in the decoder")


def check_no_nonlinearity_at_code(ctx: GradingContext, model: ModelSpec) -> Verdict:
    encoder = layers_only(traced_ops(ctx, model, "encoder"))
    decoder = layers_only(traced_ops(ctx, model, "decoder"))
    problems = []
    if encoder and encoder[-1]["op"] in NONLINEARITIES:
        problems.append(f"the encoder ends with {encoder[-1]['op']} after its last Linear layer")
    if decoder and decoder[0]["op"] in NONLINEARITIES:
        problems.append(f"the decoder starts with {decoder[0]['op']} before its first Linear layer")
    if problems:
        return Verdict(False, f"{model.name}: " + " and ".join(problems) + "; the handout asks for no "
                              "nonlinearity when entering or leaving the code. Remove it so the code is linear.")
    return Verdict(True, f"{model.name} applies no nonlinearity entering or leaving the code")


def check_code_size(ctx: GradingContext, model: ModelSpec) -> Verdict:
    shape = ctx.usable_input_shape(model, "encoder")
    code = encode(ctx, model, ctx.as_input(ctx.real_images(4), shape))
    if code.ndim != 2 or code.shape[1] != model.code_size:
        width = "x".join(map(str, code.shape[1:]))
        return Verdict(False, f"{model.name}.encoder maps an image to a code of shape {width}; the handout asks "
                              f"for a {model.code_size}-D code (shape (N, {model.code_size}))")
    return Verdict(True, f"{model.name}.encoder gives a {model.code_size}-D code")


def check_parameter_count(ctx: GradingContext, model: ModelSpec) -> Verdict:
    """The parameters are those of the handout's layers, with the student's free settings."""
    expected_layers = ctx.assignment.expected_layers(model.name)
    ops = layers_only(traced_ops(ctx, model))
    if compare_layers(traced_ops(ctx, model), expected_layers) is not None:
        raise CheckFailed("not checked: the layers differ from the handout's list (see the layer check)")
    expected = 0
    for op in ops:
        if op["op"] in WEIGHTED:
            described = {"type": op["op"], "settings": {**op["settings"], "groups": 1},
                         "bias": op.get("bias", True), "parameters": None}
            expected += layer_parameters_by_formula(described) or 0
    found = verified_parameter_count(ctx, model)
    if found != expected:
        return Verdict(False, f"{model.name} has {found:,} parameters; the handout's layers (with your "
                              f"kernel sizes) have {expected:,}. Look for modules created in __init__ but never "
                              "used, or layers that are not in the handout's list.")
    return Verdict(True, f"{model.name} has {found:,} parameters, those of the handout's layers")


def verified_parameter_count(ctx: GradingContext, model: ModelSpec) -> int:
    """The worker's parameter count, cross-checked against the submitted weight file read here.

    The weight file is read in the trusted process (torch.load with weights_only=True, which runs no
    code). If the worker's state_dict matches the file but its parameter count does not, the student's
    code tampered with what the model reports, and the file's count is used.
    """
    describe = ctx.probe(model).describe
    reported = describe["parameters"]
    shapes = ctx.trusted_weight_shapes(model)
    if shapes is None or shapes != {k: list(v) for k, v in describe["state_keys"].items()}:
        return reported
    in_file = sum(math.prod(shape) for shape in shapes.values())
    if in_file != reported:
        ctx.notes.append(f"{model.name} reported {reported:,} parameters, but its weight file holds {in_file:,} "
                         "values matching its state_dict; the grader counted the file's")
        return in_file
    return reported


def check_first_conv_filters(ctx: GradingContext, model: ModelSpec) -> Verdict:
    convs = [op for op in traced_ops(ctx, model) if op["op"] == "Conv2d"]
    if not convs:
        return Verdict(False, f"{model.name}'s forward pass runs no Conv2d layer")
    filters = convs[0]["settings"]["out_channels"]
    if filters != model.first_conv_filters:
        return Verdict(False, f"{model.name}'s first convolution has {filters} filters; the handout's has "
                              f"{model.first_conv_filters}")
    return Verdict(True, f"{model.name}'s first convolution has {filters} filters")
