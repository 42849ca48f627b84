"""What the worker tells about a model subject, measured once and remembered: how it builds, which inputs it
takes and what it returns, the layers it runs, its code, the rank of its Jacobian.

Each function returns plain data or a small dataclass; verdicts are drawn from
them elsewhere (``grading/checks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...common.probes import effective_rank, probe_count
from ...common.signatures import describe_change
from ...common.training import preferred_output
from ..locate import Subject, reference
from ..outcomes import CheckFailed, CheckTimedOut


@dataclass
class Probe:
    """A built model: how it describes itself, and which of the declared input shapes it takes."""

    ref: dict
    call: str  # "Net(depth=1, width=5)"
    describe: dict
    accepted_shapes: dict = field(default_factory=dict)  # shape -> output shape, or an error text
    input_shape: tuple[int, ...] | None = None  # the first declared shape that works
    returns: dict = field(default_factory=dict)  # shape -> {"kind", "count", "shapes"} of what forward returned
    hung: str | None = None  # why forward is not run again


def _output_shape(outputs: dict[str, np.ndarray], x: np.ndarray) -> list[int]:
    """The shape of what forward returned, read as the worker reads it (of a tuple, the element
    with as many values as the input when there is one)."""
    arrays = [outputs[f"out{i}"] for i in range(len(outputs))]
    return list(preferred_output(arrays, x.size, count=lambda a: a.size).shape)


def probe(ctx, subject: Subject) -> Probe:
    """Build the subject once and find which input shapes it takes (cached, failures too)."""
    return ctx.memo(("probe", subject.key), lambda: _probe(ctx, subject))


def _probe(ctx, subject: Subject) -> Probe:
    spec = subject.spec
    ref = reference(ctx, subject)
    describe, _ = ctx.link.call("describe", f"building {subject.call_text()}", model=ref)
    found = describe.get("found") or {}
    result = Probe(ref=ref, call=subject.call_text(), describe=describe)
    if found.get("bindings", 1) > 1 and spec.find == "fit" and not ref.get("cells"):
        ctx.note(f"{found['bindings']} models passed to fit match {spec.name}; the first one was graded")
    if spec.find == "variable" and found.get("by"):
        ctx.note(graded_variable(ctx, spec.name, spec.problem, found))
    if describe.get("arguments"):
        ctx.note(mapped_arguments(ref["name"], describe["arguments"]))
    rng = np.random.default_rng(0)
    for shape in (spec.input.shapes if spec.input else ()):
        x = rng.random((2, *shape), dtype=np.float32)
        try:
            header, out = ctx.link.call("forward", f"running {spec.name}.forward", arrays={"in0": x}, model=ref)
        except CheckFailed as failure:
            result.accepted_shapes[tuple(shape)] = str(failure)
            if isinstance(failure, CheckTimedOut):
                result.hung = f"{spec.name}.forward did not return within the time limit"
                break
            continue
        result.accepted_shapes[tuple(shape)] = _output_shape(out, x) if out else f"returned {header['kind']}"
        result.returns[tuple(shape)] = {"kind": header["kind"], "count": header["count"],
                                        "shapes": [list(out[f"out{i}"].shape) for i in range(len(out))]}
        if out and result.input_shape is None:
            result.input_shape = tuple(shape)
    return result


def mapped_arguments(name: str, changes: list) -> str:
    """The handout's keywords that the worker passed under other parameter names (or by position), in words."""
    shown = "; ".join(describe_change(*change) for change in changes[:8])
    return f"{name} takes the handout's arguments under other names, so the grader passed {shown}; names cost no points"


def graded_variable(ctx, name: str, problem: str, found: dict) -> str:
    """Which object was graded for a variable of a problem, in words."""
    label = ctx.assignment.problem_name(problem) or "the notebook"
    cell = f" (cell {found['cell'] + 1})" if found.get("cell") is not None else ""
    if found["by"] == "name":
        return f"{label}: graded {name} as {'its own cells' if problem else 'the notebook'} left it{cell}"
    taken = f"`{found['name']}`" if found.get("name") else f"a {found.get('class', 'model')} bound to no name"
    did = "trained" if found["by"] == "trained" else "built last (none of them trains one that runs)"
    return (f"{label}: graded {taken}, the model your {label} cells {did}{cell}; the handout calls it {name}, "
            "a name those cells do not bind")


def returns_tuple(result: Probe) -> bool:
    return any(r["count"] and r["kind"] != "tensor" for r in result.returns.values())


def usable_input_shape(ctx, subject: Subject, part: str = "forward") -> tuple[int, ...]:
    """An input shape the model takes. For checks of the encoder or decoder alone, one the encoder
    takes is enough, so that a broken forward costs only the checks that need forward."""
    result = probe(ctx, subject)
    if result.input_shape is not None and result.hung is None:
        return result.input_shape
    if part in ("encoder", "decoder") and result.describe["attributes"].get("encoder"):
        shape = ctx.memo(("encoder shape", subject.key), lambda: _encoder_shape(ctx, subject))
        if shape is not None:
            return shape
    if result.hung:
        raise CheckFailed(f"not run: {result.hung} earlier")
    tried = "; ".join(f"input {tuple(s)}: {r}" for s, r in result.accepted_shapes.items())
    raise CheckFailed(f"{subject.spec.name}.forward failed for every input shape the handout allows ({tried})")


def _encoder_shape(ctx, subject: Subject) -> tuple[int, ...] | None:
    spec = subject.spec
    x = np.random.default_rng(0).random((2, *spec.input.shapes[0]), dtype=np.float32)
    for shape in spec.input.shapes:
        try:
            ctx.link.call("forward", f"running {spec.name}.encoder", arrays={"in0": x.reshape(2, *shape)},
                          model=probe(ctx, subject).ref, part="encoder")
            return tuple(shape)
        except CheckFailed:
            continue
    return None


def inputs(ctx, subject: Subject, n: int, shape) -> np.ndarray:
    """``n`` real held-out examples for the subject, shaped ``shape`` (seeded random values without data)."""
    spec = subject.spec
    return ctx.data.probe_inputs(spec.data, n, shape, spec.input.layout if spec.input else "channels_first")


def require_part(ctx, subject: Subject, part: str) -> None:
    if not probe(ctx, subject).describe["attributes"].get(part):
        attribute = subject.spec.parts.get(part, part)
        raise CheckFailed(f"{subject.spec.name} has no `{attribute}` attribute; the handout's contract asks for "
                          f"{' and '.join(f'`{a}`' for a in subject.spec.parts.values())}")


def code(ctx, subject: Subject, n: int = 4) -> np.ndarray:
    """The code the encoder gives for ``n`` real examples (the first tensor if it returns several)."""
    def measure():
        require_part(ctx, subject, "encoder")
        images = inputs(ctx, subject, n, usable_input_shape(ctx, subject, "encoder"))
        header, out = ctx.link.call("forward", f"running {subject.spec.name}.encoder", arrays={"in0": images},
                                    model=probe(ctx, subject).ref, part="encoder")
        if not out:
            raise CheckFailed(f"{subject.spec.name}.encoder returned {header['kind']}, not a tensor")
        return out["out0"]

    return ctx.memo(("code", subject.key, n), measure)


def ops(ctx, subject: Subject, part: str = "forward") -> list[dict]:
    """The ops a part of the model runs on one real example (cached per part)."""
    def measure():
        shape = usable_input_shape(ctx, subject, part)
        image = inputs(ctx, subject, 1, shape)
        arrays = {"in0": code(ctx, subject, 1) if part == "decoder" else image}
        if part in ("encoder", "decoder"):
            require_part(ctx, subject, part)
        header, _ = ctx.link.call("trace", f"running {subject.spec.name}.{part}", arrays=arrays,
                                  model=probe(ctx, subject).ref, part=part)
        return header["ops"]

    return ctx.memo(("trace", subject.key, part), measure)


@dataclass(frozen=True)
class Bottleneck:
    rank: int  # independent directions the output moves in when the input is perturbed
    width: int  # the width of the model's own code
    probes: int


def code_width(ctx, subject: Subject, default: int | None) -> int | None:
    """The width of the student's own code (a code-size check judges it against the handout)."""
    try:
        found = code(ctx, subject, 1)
    except CheckFailed:
        return default
    return int(np.prod(found.shape[1:])) if found.ndim > 1 else default


def bottleneck(ctx, subject: Subject, width: int | None = None) -> Bottleneck:
    """The rank of forward's Jacobian at one real example, seen through enough random probes to exceed the
    code's width, so that "more than the code" can be told from "the code"."""
    def measure():
        shape = usable_input_shape(ctx, subject)
        declared = width or next((c.options["width"] for c in subject.spec.checks.values()
                                  if c.type == "code_size"), None)
        found = code_width(ctx, subject, declared)
        if found is None:
            raise CheckFailed(f"{subject.spec.name}'s code width could not be measured: it needs an encoder")
        image = inputs(ctx, subject, 1, shape)
        probes = probe_count(found, math.prod(shape))
        header, _ = ctx.link.call("jacobian", f"differentiating {subject.spec.name}.forward", arrays={"in0": image},
                                  model=probe(ctx, subject).ref, probes=probes)
        values = header["singular_values"]
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            raise RuntimeError("worker: singular values are not numbers")
        return Bottleneck(effective_rank(values), found, probes)

    return ctx.memo(("bottleneck", subject.key), measure)


def forward_outputs(ctx, subject: Subject, x: np.ndarray, part: str = "forward") -> tuple[dict, dict]:
    """What a part of the model returns for ``x``: the worker's header (kind, count) and the arrays."""
    return ctx.link.call("forward", f"running {subject.spec.name}.{part}", arrays={"in0": x},
                         model=probe(ctx, subject).ref, part=part)
