"""Checks of what a model is made of: it builds, its layers, its code, its parameter count.

Each check is a function of what was measured (ops traced from the forward
pass, the model's description, its code) and what is expected; none calls the
worker.
"""

from __future__ import annotations

from ...common.layers import layer_parameters_by_formula
from ...common.operations import REGULARISERS, SHAPE_OPS, WEIGHTED, is_unknown, nonlinear
from ...results import Verdict
from ...spec import LayerSpec
from .expected import Expected

NOT_LAYERS = SHAPE_OPS | REGULARISERS


def layers_only(ops: list[dict]) -> list[dict]:
    return [op for op in ops if op["op"] not in NOT_LAYERS]


def _same_padding(found, wanted, op: dict) -> bool:
    """padding="same" and the padding that keeps the size at stride 1 ((k - 1) / 2 for an odd kernel) agree."""
    pair = {found, wanted} if not isinstance(found, list) else set()
    if "same" not in pair or len(pair) != 2:
        return False
    other = (pair - {"same"}).pop()
    kernel, stride = op["settings"].get("kernel_size"), op["settings"].get("stride", 1)
    return isinstance(kernel, int) and kernel % 2 == 1 and stride in (1, None) and other == (kernel - 1) // 2


def _same(found, wanted) -> bool:
    if isinstance(found, list) and not isinstance(wanted, list):
        return all(_same(f, wanted) for f in found)
    if isinstance(found, (int, float)) and isinstance(wanted, (int, float)):
        return float(found) == float(wanted)
    return found == wanted


def show(op: dict) -> str:
    if is_unknown(op["op"]):
        return f"{op['op'].split(':', 1)[1]} (an operation the grader does not know)"
    return str(LayerSpec(op["op"], op.get("settings") or {}))


def _relaxed_keys(ops: list[dict], index: int) -> set[str]:
    """Settings not compared for the layer at ``index``: input widths right after a concatenation."""
    for op in reversed(ops[:index]):
        if op["op"] == "cat":
            return {"in_channels", "in_features"}
        if op["op"] in WEIGHTED:
            break
    return set()


MODULES = {"Linear": "nn.Linear", "Conv2d": "nn.Conv2d", "ConvTranspose2d": "nn.ConvTranspose2d"}


def compare_layers(ops: list[dict], expected: tuple[LayerSpec, ...], trailing_activation: bool = True,
                   activations: bool = True, modules: bool = False) -> str | None:
    """The first difference between the traced ops and the expected layers, in words; None if they match.

    With ``trailing_activation``, one nonlinearity after the last expected layer is left to the
    output-activation check; without ``activations``, nonlinearities are not compared at all (another check
    judges them). A layer written as a function or a matrix product on parameters is the layer it computes,
    unless ``modules`` (the handout demands ``nn.Linear`` modules and the like).
    """
    positions = [i for i, op in enumerate(ops)
                 if op["op"] not in NOT_LAYERS and (activations or not nonlinear(op["op"]))]
    if not positions and expected:
        return (f"layer 1 should be {expected[0]}, but the forward pass runs no layer the grader recognises "
                "(layer modules such as nn.Linear, their functions such as F.linear, or matrix products with "
                "parameters)")
    for n, want in enumerate(expected):
        if n >= len(positions):
            return f"layer {n + 1} should be {want}, but the forward pass ends after {len(positions)} layers"
        op = ops[positions[n]]
        relaxed = _relaxed_keys(ops, positions[n])
        if op["op"] != want.type:
            return f"layer {n + 1} should be {want}, found {show(op)}"
        if modules and op["op"] in MODULES and op.get("via") != "module":
            how = "a matrix product with parameters" if op.get("via") == "matrix product" else "a function call"
            return (f"layer {n + 1} is {show(op)} written as {how}; the handout asks for an {MODULES[op['op']]} "
                    "module")
        for key, value in want.settings.items():
            found = op["settings"].get(key)
            if key not in relaxed and not _same(found, value) and not _same_padding(found, value, op):
                return f"layer {n + 1} should be {want}, found {show(op)} ({key} {found})"
    trailing = positions[len(expected):]
    if trailing_activation and len(trailing) == 1 and nonlinear(ops[trailing[0]]["op"]):
        trailing = []  # the output activation: checked on its own
    if trailing:
        extra = ", ".join(show(ops[i]) for i in trailing)
        return f"the forward pass runs {len(trailing)} layer(s) after the handout's last: {extra}"
    return None


def check_constructs(built: dict, expected: Expected) -> Verdict:
    """``built``: the call, its parameter count and where the subject was found."""
    return Verdict(True, f"{built['call']} builds ({built['parameters']:,} parameters, defined in "
                         f"{built['source']})")


def check_layer_list(ops: list[dict], expected: Expected) -> Verdict:
    layers = expected["layers"]
    difference = compare_layers(ops, layers, expected.get("trailing_activation", True),
                                expected.get("activations", True), expected.get("modules", False))
    if difference:
        where = f" in {expected.problem}" if expected.problem else ""
        return Verdict(False, f"{expected.name}'s layers differ from the handout's list: {difference}. "
                              f"Compare your forward pass with the list{where}, in order.")
    concatenated = any(op["op"] == "cat" for op in ops)
    extra = " (skip connections by concatenation accepted)" if concatenated else ""
    return Verdict(True, f"{expected.name} runs the handout's {len(layers)} layers in order{extra}")


def check_output_activation(ops: list[dict], expected: Expected) -> Verdict:
    wanted = expected["activation"]
    layers = layers_only(ops)
    last = layers[-1]["op"] if layers else "nothing"
    if last != wanted:
        return Verdict(False, f"{expected.name}'s last operation is {last}, not {wanted}")
    return Verdict(True, f"{expected.name} ends with {wanted}")


def check_linear_layers(parts: dict[str, list[dict]], expected: Expected) -> Verdict:
    """``parts``: the ops of the encoder and of the decoder."""
    problems = []
    for part, ops in parts.items():
        wanted = expected[part]
        layers = layers_only(ops)
        linear = [i for i, op in enumerate(layers) if op["op"] == "Linear"]
        if len(linear) != wanted:
            problems.append(f"the {part} has {len(linear)} Linear layers, the handout asks for {wanted}")
        for a, b in zip(linear, linear[1:], strict=False):
            if not any(nonlinear(op["op"]) for op in layers[a + 1 : b]):
                problems.append(f"the {part} has no nonlinearity between Linear layers {show(layers[a])} "
                                f"and {show(layers[b])}")
    if problems:
        return Verdict(False, f"{expected.name}: " + "; ".join(problems) + ".")
    counts = " and ".join(f"{expected[part]} in the {part}" for part in parts)
    return Verdict(True, f"{expected.name} has Linear layers with nonlinearities between them: {counts}")


def between_parts(parts: dict) -> list[dict]:
    """The ops forward runs between the encoder's and the decoder's, where forward is the encoder's ops, then
    these, then the decoder's; [] where forward is not that (or was not traced): nothing is read into it."""
    encoder, decoder, forward = parts["encoder"], parts["decoder"], parts.get("forward") or []
    end = len(forward) - len(decoder)
    if end < len(encoder) or [o["op"] for o in forward[:len(encoder)]] != [o["op"] for o in encoder] or \
            [o["op"] for o in forward[end:]] != [o["op"] for o in decoder]:
        return []
    return forward[len(encoder):end]


def check_no_nonlinearity_at_code(parts: dict[str, list[dict]], expected: Expected) -> Verdict:
    """``parts``: the ops of the encoder, of the decoder, and of forward (or None): a nonlinearity ending the
    encoder, starting the decoder, or applied by forward to the code between them."""
    encoder, decoder = layers_only(parts["encoder"]), layers_only(parts["decoder"])
    problems = []
    # known activations only: an operation the tracers do not know, there, is not called nonlinear unmeasured
    applied = [op["op"] for op in between_parts(parts) if nonlinear(op["op"]) and not is_unknown(op["op"])]
    if applied:
        problems.append(f"forward applies {', '.join(dict.fromkeys(applied))} to the code between the encoder and "
                        "the decoder")
    if encoder and nonlinear(encoder[-1]["op"]):
        problems.append(f"the encoder ends with {encoder[-1]['op']} after its last Linear layer")
    if decoder and nonlinear(decoder[0]["op"]):
        problems.append(f"the decoder starts with {decoder[0]['op']} before its first Linear layer")
    if problems:
        return Verdict(False, f"{expected.name}: " + " and ".join(problems) + "; the handout asks for no "
                              "nonlinearity when entering or leaving the code. Remove it so the code is linear.")
    return Verdict(True, f"{expected.name} applies no nonlinearity entering or leaving the code")


def check_no_nonlinearity(measured: dict, expected: Expected) -> Verdict:
    """No activation function anywhere in the forward pass (a linear autoencoder). ``measured``: the traced
    ``ops`` and, when some operation is one the tracers do not know, the model's measured ``affinity``
    (max |f(a) + f(b) - f(0) - f(a + b)| over the outputs' scale): the unknown operation passes only if the
    model is numerically linear."""
    ops = measured["ops"]
    known = [op for op in ops if nonlinear(op["op"]) and not is_unknown(op["op"])]
    if known:
        names = ", ".join(dict.fromkeys(op["op"] for op in known))
        return Verdict(False, f"{expected.name}'s forward pass applies {names}; the handout asks for no "
                              "nonlinear activation at all. Remove it.")
    unknown = list(dict.fromkeys(op["op"].split(":", 1)[1] for op in ops if is_unknown(op["op"])))
    if unknown:
        deviation, tolerance = measured.get("affinity"), expected.get("tolerance", 1e-4)
        if deviation is None or deviation > tolerance:
            measured_text = f"f(a) + f(b) - f(0) differs from f(a + b) by {deviation:.3g} (relative)" \
                if deviation is not None else "its linearity could not be measured"
            return Verdict(False, f"{expected.name}'s forward pass applies {', '.join(unknown)}, which is not "
                                  f"linear ({measured_text}); the handout asks for no nonlinear activation at all")
        return Verdict(True, f"{expected.name} applies {', '.join(unknown)}, and is measured linear "
                             f"(f(a) + f(b) - f(0) = f(a + b) to {deviation:.1e}): no nonlinear activation")
    return Verdict(True, f"{expected.name} applies no nonlinear activation ({len(layers_only(ops))} layers, all "
                         "linear)")


def check_code_size(code_shape: list[int], expected: Expected) -> Verdict:
    """``code_shape``: the shape of the encoder's output for a batch."""
    width = expected["width"]
    if len(code_shape) != 2 or code_shape[1] != width:
        shown = "x".join(map(str, code_shape[1:]))
        return Verdict(False, f"{expected.name}.encoder maps an image to a code of shape {shown}; the handout asks "
                              f"for a {width}-D code (shape (N, {width}))")
    return Verdict(True, f"{expected.name}.encoder gives a {width}-D code")


def expected_parameters(ops: list[dict]) -> int:
    """The parameters of the traced weighted layers, from their settings alone."""
    total = 0
    for op in layers_only(ops):
        if op["op"] in WEIGHTED:
            described = {"type": op["op"], "settings": {**op["settings"], "groups": 1},
                         "bias": op.get("bias", True), "parameters": None}
            total += layer_parameters_by_formula(described) or 0
        elif op["op"].startswith("BatchNorm"):
            total += 2 * int(op["settings"].get("num_features") or 0)
    return total


def check_parameter_count(counted: dict, expected: Expected) -> Verdict:
    """``counted``: ``found`` (the model's count, verified against its weight file) and ``expected``, the count
    the handout's layers give (from the answer key, or from the traced layers with the student's free
    settings)."""
    found, wanted = counted["found"], counted["expected"]
    if found != wanted:
        return Verdict(False, f"{expected.name} has {found:,} parameters; {counted['because']} "
                              f"{wanted:,}. Look for modules created in __init__ but never used, or layers that "
                              "are not in the handout's list.")
    return Verdict(True, f"{expected.name} has {found:,} parameters, those of the handout's layers")


def check_first_conv_filters(ops: list[dict], expected: Expected) -> Verdict:
    convs = [op for op in ops if op["op"] == "Conv2d"]
    if not convs:
        return Verdict(False, f"{expected.name}'s forward pass runs no Conv2d layer")
    filters, wanted = convs[0]["settings"]["out_channels"], expected["filters"]
    if filters != wanted:
        return Verdict(False, f"{expected.name}'s first convolution has {filters} filters; the handout's has "
                              f"{wanted}")
    return Verdict(True, f"{expected.name}'s first convolution has {filters} filters")
