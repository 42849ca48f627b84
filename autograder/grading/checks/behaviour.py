"""Checks of what a model does, whatever its code looks like: shapes, the bottleneck, skip connections."""

from __future__ import annotations

import math

import numpy as np

from ...probes import effective_rank
from ...results import Verdict
from ...spec import ModelSpec
from ..context import CheckFailed, GradingContext
from .structure import encode


def _expected_width(ctx: GradingContext, model: ModelSpec, shape) -> int:
    return model.outputs if model.outputs else math.prod(shape)


def check_output_shapes(ctx: GradingContext, model: ModelSpec) -> Verdict:
    """Some input shape the handout allows works, and the output has the right size per example."""
    probe = ctx.probe(model)
    results, good = [], []
    for shape, outcome in probe.accepted_shapes.items():
        shown = "(N, " + ", ".join(map(str, shape)) + ")"
        if isinstance(outcome, str):
            results.append(f"{shown}: {outcome}")
            continue
        width = _expected_width(ctx, model, shape)
        per_example = math.prod(outcome[1:]) if len(outcome) > 1 else 0
        if outcome[0] == 2 and per_example == width:
            good.append(shown)
            results.append(f"{shown} -> {tuple(outcome)}")
        else:
            results.append(f"{shown} -> {tuple(outcome)}, expected {width} values per example")
    if not good:
        return Verdict(False, f"{model.name} gives no output of the right size for the inputs the handout "
                              f"allows: {'; '.join(results)}")
    width = _expected_width(ctx, model, model.input_shapes[0])
    tuple_note = (f" ({model.name}.forward returns a tuple: its element with {width} "
                  "values per example was taken as the output)") if probe.returns_tuple else ""
    return Verdict(True, f"{model.name} takes {' and '.join(good)}: {'; '.join(results)}{tuple_note}")


def _jacobian_rank(ctx: GradingContext, model: ModelSpec) -> tuple[int, list[float]]:
    key = ("jacobian", model.name)
    if key not in ctx.cache:
        shape = ctx.usable_input_shape(model)
        image = ctx.as_input(ctx.real_images(1), shape)
        header, _ = ctx.call("jacobian", f"differentiating {model.name}.forward", arrays={"in0": image},
                             model=ctx.probe(model).ref, probes=8)
        values = header["singular_values"]
        if not all(isinstance(v, (int, float)) for v in values):
            raise RuntimeError("worker: singular values are not numbers")
        ctx.cache[key] = (effective_rank(values), values)
    return ctx.cache[key]


def _code_width(ctx: GradingContext, model: ModelSpec) -> int:
    """The width of the student's own code (the code-size check judges it against the handout)."""
    try:
        code = encode(ctx, model, ctx.as_input(ctx.real_images(1), ctx.usable_input_shape(model, "encoder")))
    except CheckFailed:
        return model.code_size
    return int(np.prod(code.shape[1:])) if code.ndim > 1 else model.code_size


def check_reconstruction_through_code(ctx: GradingContext, model: ModelSpec) -> Verdict:
    """forward depends on the input only through the code: its Jacobian's rank is at most the code's width."""
    rank, _ = _jacobian_rank(ctx, model)
    width = _code_width(ctx, model)
    if rank > width:
        return Verdict(False, f"{model.name}.forward depends on the input through more than its {width}-D code "
                              f"(its output moves in {rank} independent directions when the input is perturbed). "
                              "Make forward return decoder(encoder(x)), with nothing from x reaching the decoder "
                              "except the code.")
    return Verdict(True, f"{model.name}'s reconstruction depends on the input only through its {width}-D code")


def check_skip_connections(ctx: GradingContext, model: ModelSpec) -> Verdict:
    """Skip connections carry information around the code: the Jacobian's rank exceeds the code's width."""
    rank, _ = _jacobian_rank(ctx, model)
    width = _code_width(ctx, model)
    if rank <= width:
        return Verdict(False, f"{model.name}'s output depends on the input only through its {width}-D code, so "
                              "it has no working skip connection: it is a plain CAE. Add the output of each "
                              "pooling layer to the input of the matching upsampling layer (or concatenate them).")
    return Verdict(True, f"{model.name}'s skip connections carry information around the {width}-D code")
