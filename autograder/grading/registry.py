"""The check types an assignment may name, each as: what it measures, how it judges, what it expects.

An assignment's ``[models.X.checks]`` table names check types (its key, or
``check = "..."``) with their expectations; ``validate_checks`` rejects an
unknown type or an option the type does not take, when the assignment is
loaded. Measuring goes through the worker (``grading/measure``); judging is a
pure function of the measurement and the expectation (``grading/checks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..spec import Assignment, CheckSpec, SpecError, read_assignment
from ..student_kit import smoke
from .checks import behaviour, structure, training
from .checks import data_sets as data_set_checks
from .checks import functions as function_checks
from .checks import keras as keras_checks
from .checks import scripts as script_checks
from .locate import Subject, locate
from .measure import data_sets, functions, scripts
from .measure import models as m
from .measure import training as t
from .outcomes import CheckFailed

COMMON = ("points", "title", "hint", "visibility", "per_variant", "check")
MODELS, DATASETS, FUNCTIONS = ("torch", "keras"), ("dataset",), ("function",)
SCRIPTS = ("script",)
PUBLIC, TRAINS, BAR = frozenset({"public"}), frozenset({"trains"}), frozenset({"trains", "bar"})  # CheckType.tags


@dataclass(frozen=True)
class CheckType:
    stage: str  # files, imports, structure, behaviour, answers, training, weights: the order checks run in
    title: str  # for people; formatted with the subject's name and the check's options
    measure: Callable  # (ctx, subject, check) -> what was measured
    judge: Callable  # (measured, Expected) -> Verdict
    options: tuple[str, ...] = ()  # the expectation's keys
    required: tuple[str, ...] = ()
    kinds: tuple[str, ...] = MODELS  # the subject kinds it applies to
    sweep: bool = False  # measures every variant of the subject at once
    # What the tools that read assignments need to know of it (the student kit, calibration): "public", it
    # compares with the handout alone (a kit keeps it); "trains", it trains a model; "bar", it compares with a
    # calibrated threshold; "smoke", a kit replaces it with a smoke test that needs no threshold.
    tags: frozenset[str] | set[str] = frozenset()


def _built(ctx, subject, check):
    probe = m.probe(ctx, subject)
    source, cell = locate(ctx, subject.spec).source, (probe.describe.get("found") or {}).get("cell")
    return {"call": probe.call, "parameters": probe.describe["parameters"],
            "source": f"{source}, cell {cell + 1}" if cell is not None else source}


def _parts(ctx, subject, check):
    return {part: m.ops(ctx, subject, part) for part in ("encoder", "decoder")}


def _parts_and_forward(ctx, subject, check):
    """The encoder's and the decoder's ops, and forward's (None where it cannot be traced: the parts alone are
    judged then), to see what forward applies to the code between them."""
    parts = _parts(ctx, subject, check)
    try:
        parts["forward"] = m.ops(ctx, subject)
    except CheckFailed:
        parts["forward"] = None
    return parts


def _code_shape(ctx, subject, check):
    return list(m.code(ctx, subject, 4).shape)


def _parameters(ctx, subject, check):
    found = t.verified_parameter_count(ctx, subject)
    if check.options.get("count") == "solution":
        return {"found": found, "expected": reference_parameters(ctx.assignment, subject),
                "because": f"the handout's {subject.call_text()} has"}
    if "count" in check.options:
        return {"found": found, "expected": int(check.options["count"]), "because": "the handout's model has"}
    layers = ctx.assignment.expected_layers(subject.spec.key)
    ops = m.ops(ctx, subject)
    if layers and structure.compare_layers(ops, layers) is not None:
        from .outcomes import CheckFailed

        raise CheckFailed("not checked: the layers differ from the handout's list (see the layer check)")
    return {"found": found, "expected": structure.expected_parameters(ops),
            "because": "the handout's layers (with your kernel sizes) have"}


def reference_parameters(assignment, subject: Subject) -> int:
    """The answer key's parameter count of the subject with the same arguments (its reference built here)."""
    from ..answer_key import solution_class

    model = solution_class(assignment, subject.spec.key)(**subject.kwargs)
    count = getattr(model, "count_params", None)
    return int(count()) if callable(count) and not hasattr(model, "parameters") else \
        sum(p.numel() for p in model.parameters())


def _shapes(ctx, subject, check):
    probe = m.probe(ctx, subject)
    if probe.hung and not probe.accepted_shapes:
        from .outcomes import CheckFailed

        raise CheckFailed(f"not run: {probe.hung}")
    return {"accepted": probe.accepted_shapes, "returns_tuple": m.returns_tuple(probe)}


def _returned(ctx, subject, check):
    batch = int(check.options.get("batch", 3))
    shape = m.usable_input_shape(ctx, subject)
    header, out = m.forward_outputs(ctx, subject, m.inputs(ctx, subject, batch, shape))
    returned = {"kind": header["kind"], "count": header["count"], "batch": batch,
                "shapes": [list(out[f"out{i}"].shape) for i in range(len(out))]}
    if check.options.get("as_used") and ctx.notebook.ready():
        model_class = m.probe(ctx, subject).describe.get("class")
        returned["unpacked"] = [u for u in ctx.notebook.names().get("roles", {}).get("unpacked", [])
                                if u.get("module") and u.get("callee") == model_class]
    return returned


def _bottleneck(ctx, subject, check):
    return m.bottleneck(ctx, subject, check.options.get("width"))


def _affinity(ctx, subject, check):
    """max |f(a) + f(b) - f(0) - f(a + b)| over the outputs' scale, for a few real inputs."""
    shape = m.usable_input_shape(ctx, subject)
    a = m.inputs(ctx, subject, 4, shape)
    b = np.random.default_rng(1).standard_normal(a.shape).astype(np.float32)
    batch = np.concatenate([a, b, np.zeros_like(a), a + b])
    _, out = m.forward_outputs(ctx, subject, batch)
    rows = np.asarray(out["out0"], np.float64).reshape(4, len(a), -1)
    scale = max(float(np.abs(rows).max()), 1e-12)
    return float(np.abs(rows[0] + rows[1] - rows[2] - rows[3]).max() / scale)


def _ops_and_linearity(ctx, subject, check):
    """The traced ops, and where one of them is unknown to the tracers, how linear the model measures."""
    from ..common.operations import is_unknown

    ops = m.ops(ctx, subject)
    measured = {"ops": ops}
    if any(is_unknown(op["op"]) for op in ops):
        from .outcomes import CheckFailed

        try:
            measured["affinity"] = _affinity(ctx, subject, check)
        except CheckFailed:
            measured["affinity"] = None
    return measured


def _log_probability_rows(ctx, subject, check):
    shape = m.usable_input_shape(ctx, subject)
    _, out = m.forward_outputs(ctx, subject, m.inputs(ctx, subject, 8, shape))
    return np.asarray(out["out0"]).reshape(8, -1)


def _brief(ctx, subject, check):
    return t.brief_training(ctx, subject, check.options["recipe"], check.options.get("predict"))


def _trained(ctx, subject, check):
    return t.weights_score(ctx, subject, check.options["recipe"], check.options.get("predict"))


def _compiled(ctx, subject, check):
    describe = m.probe(ctx, subject).describe
    return describe.get("compiled", {})


SWEEP = "sweep"

CHECK_TYPES: dict[str, CheckType] = {
    "constructs": CheckType("structure", "{call} builds", _built, structure.check_constructs, tags=PUBLIC),
    "layer_list": CheckType("structure", "{name} has the handout's layers, in order",
                            lambda ctx, s, c: m.ops(ctx, s), structure.check_layer_list,
                            ("layers", "layers_of", "trailing_activation", "activations", "modules"), ("layers",),
                            tags=PUBLIC),
    "output_activation": CheckType("structure", "{name} ends with {activation}", lambda ctx, s, c: m.ops(ctx, s),
                                   structure.check_output_activation, ("activation",), ("activation",), tags=PUBLIC),
    "linear_layers": CheckType("structure", "{name} has {encoder} Linear layers each side, with nonlinearities "
                               "between", _parts, structure.check_linear_layers, ("encoder", "decoder"),
                               ("encoder", "decoder"), tags=PUBLIC),
    "no_nonlinearity_at_code": CheckType("structure", "{name} has no nonlinearity entering or leaving the code",
                                         _parts_and_forward, structure.check_no_nonlinearity_at_code, tags=PUBLIC),
    "no_nonlinearity": CheckType("structure", "{name} has no nonlinear activation", _ops_and_linearity,
                                 structure.check_no_nonlinearity, ("tolerance",), tags=PUBLIC),
    "code_size": CheckType("structure", "{name} encodes to a {width}-D code", _code_shape, structure.check_code_size,
                           ("width",), ("width",), tags=PUBLIC),
    "parameter_count": CheckType("structure", "{name} has the handout's parameter count", _parameters,
                                 structure.check_parameter_count, ("count",), tags=PUBLIC),
    "first_conv_filters": CheckType("structure", "{name}'s first convolution has {filters} filters",
                                    lambda ctx, s, c: m.ops(ctx, s), structure.check_first_conv_filters,
                                    ("filters",), ("filters",), tags=PUBLIC),
    "output_shapes": CheckType("behaviour", "{name} gives outputs of the right shape", _shapes,
                               behaviour.check_output_shapes, ("outputs", "require"), tags=PUBLIC),
    "returns": CheckType("behaviour", "{name}.forward returns {count} tensors", _returned, behaviour.check_returns,
                         ("count", "batch", "as_used"), ("count",), tags=PUBLIC),
    "reconstruction_through_code": CheckType("behaviour", "{name} reconstructs from its code alone", _bottleneck,
                                             behaviour.check_reconstruction_through_code, ("width",), tags=PUBLIC),
    "skip_connections": CheckType("behaviour", "{name} has working skip connections", _bottleneck,
                                  behaviour.check_skip_connections, ("width",), tags=PUBLIC),
    "affine": CheckType("behaviour", "{name} is linear (an affine map)", _affinity, behaviour.check_affine,
                        ("tolerance",), tags=PUBLIC),
    "log_probabilities": CheckType("behaviour", "{name} returns log-probabilities", _log_probability_rows,
                                   behaviour.check_log_probabilities, tags=PUBLIC),
    "compiled_with": CheckType("structure", "{name} is compiled with the handout's loss and optimizer", _compiled,
                               keras_checks.check_compiled_with, ("loss", "optimizer"), (), ("keras",), tags=PUBLIC),
    "fit_noise": CheckType("structure", "{name} is trained on noisy inputs and clean targets",
                           lambda ctx, s, c: functions.fit_record(ctx, s), keras_checks.check_fit_noise,
                           ("noise_std", "tolerance", "clipped"), ("noise_std",), ("keras",), tags=PUBLIC),
    "brief_training": CheckType("training", "{name} learns under brief training", _brief,
                                training.check_brief_training, ("recipe", "predict"), ("recipe",),
                                tags=BAR | {"smoke"}),
    "sweep_trend": CheckType("training", "{name}: the error falls as {argument} grows",
                             lambda ctx, s, c: functions.sweep(ctx, s, c), training.check_sweep_trend,
                             ("recipe", "predict", "argument", "ratio"), ("recipe",), sweep=True, tags=TRAINS),
    "as_trained": CheckType("training", "{name}, as the submission trained it, reaches the bar",
                            lambda ctx, s, c: t.as_trained(ctx, s, c.options["recipe"], c.options.get("predict")),
                            training.check_as_trained, ("recipe", "predict"), ("recipe",), tags=BAR),
    "weights_load": CheckType("weights", "{name}'s weight file loads", lambda ctx, s, c: t.weights(ctx, s),
                              training.check_weights_load, ("names",), tags=PUBLIC),
    "trained_weights": CheckType("weights", "{name}'s submitted weights are trained", _trained,
                                 training.check_trained_weights, ("recipe", "predict"), ("recipe",), tags=BAR),
    # data set classes
    "dataset_length": CheckType("behaviour", "len({name}(...)) is the number of examples",
                                data_sets.items, data_set_checks.check_dataset_length, data_sets.OPTIONS, (),
                                DATASETS, tags=PUBLIC),
    "item_shape": CheckType("behaviour", "{name}(...)[i] has the handout's shape and type", data_sets.items,
                            data_set_checks.check_item_shape, data_sets.OPTIONS, ("item_shape",), DATASETS,
                            tags=PUBLIC),
    "item_values": CheckType("behaviour", "{name}(...)[i] holds example i", data_sets.items,
                             data_set_checks.check_item_values, data_sets.OPTIONS, ("item_shape",), DATASETS,
                             tags=PUBLIC),
    # plain functions
    "function_values": CheckType("answers", "{name} gives the answer key's values", functions.call_cases,
                                 function_checks.check_function_values, functions.CASE_OPTIONS, ("cases",),
                                 FUNCTIONS),
    "returns_history": CheckType("behaviour", "{name} returns a training history", functions.sweep_calls,
                                 function_checks.check_returns_history, functions.SWEEP_OPTIONS, ("keys",),
                                 FUNCTIONS, sweep=True, tags=PUBLIC),
    "returned_model": CheckType("structure", "{name} trains the model asked for at each {argument}",
                                functions.sweep_calls, function_checks.check_returned_model,
                                functions.SWEEP_OPTIONS + ("widths",), ("widths",), FUNCTIONS, sweep=True, tags=PUBLIC),
    "returns_arrays": CheckType("behaviour", "{name} returns one value per epoch", functions.call_traced,
                                function_checks.check_returns_arrays, functions.CALL_OPTIONS + ("count", "length",
                                                                                               "falls"),
                                ("count", "length"), FUNCTIONS, tags=PUBLIC),
    "training_loop": CheckType("behaviour", "{name} trains as the handout asks", functions.call_traced,
                               function_checks.check_training_loop, functions.CALL_OPTIONS + ("optimizer", "loss"),
                               (), FUNCTIONS, tags=PUBLIC),
    "matches_accuracy": CheckType("behaviour", "{name} returns the model's accuracy", functions.call_traced,
                                  function_checks.check_matches_accuracy, functions.CALL_OPTIONS, ("predict",),
                                  FUNCTIONS, tags=PUBLIC),
    "matches_encoder": CheckType("behaviour", "{name} returns the encoder's codes", functions.call_traced,
                                 function_checks.check_matches_encoder, functions.CALL_OPTIONS, ("predict",),
                                 FUNCTIONS, tags=PUBLIC),
    "scatter_colours": CheckType("answers", "the scatter plot of {name}'s codes is coloured by their own labels",
                                 functions.scatters, function_checks.check_scatter_colours, (), (),
                                 MODELS + FUNCTIONS, tags=PUBLIC),
    "history_trend": CheckType("training", "{name}: the final losses fall as {argument} grows",
                               functions.sweep_calls, function_checks.check_history_trend,
                               functions.SWEEP_OPTIONS + ("tolerance", "min_drop"), ("keys",), FUNCTIONS,
                               sweep=True, tags=TRAINS),
    # the student kits' stand-in for a calibrated bar (student_kit/smoke.py)
    smoke.CHECK: CheckType("training", smoke.TITLE, smoke.measure_smoke_training, smoke.check_smoke_training,
                           ("recipe", "start", "predict"), ("recipe", "start"), tags=PUBLIC | TRAINS),
    # command-line programs (kind = "script"), run once as __main__ with their arguments (grading/measure/scripts.py)
    "runs": CheckType("training", "{name} runs to its end with the handout's arguments",
                      lambda ctx, s, c: scripts.script_run(ctx, s), script_checks.check_script_runs, (), (), SCRIPTS,
                      tags=PUBLIC),
    "writes": CheckType("training", "{name} writes the files the handout asks for",
                        lambda ctx, s, c: scripts.script_run(ctx, s), script_checks.check_script_writes, ("files",),
                        ("files",), SCRIPTS, tags=PUBLIC),
    "prints": CheckType("training", "{name} prints what the handout asks for",
                        lambda ctx, s, c: scripts.script_run(ctx, s), script_checks.check_script_prints, ("pattern",),
                        ("pattern",), SCRIPTS, tags=PUBLIC),
    "written_weights": CheckType("weights", "the weights {name} writes in {file} are trained", scripts.written_weights,
                                 script_checks.check_written_weights, ("model", "file", "recipe", "predict"),
                                 ("model", "file", "recipe"), SCRIPTS, tags=BAR),
}


def check_type(check: CheckSpec) -> CheckType:
    return CHECK_TYPES[check.type]


def load_assignment(assignment_id: str) -> Assignment:
    """The assignment (an id, or the path of an ``assignment.toml``), parsed and its checks validated against
    the check types here; SpecError naming what is wrong."""
    return validated(read_assignment(assignment_id))


def validated(assignment: Assignment) -> Assignment:
    """The assignment, once ``validate_checks`` found nothing wrong with it."""
    validate_checks(assignment)
    return assignment


def validate_checks(assignment: Assignment) -> None:
    """Every check names a known type, with options that type takes; a sweep check is on a swept subject."""
    for subject in assignment.subjects.values():
        for check in subject.checks.values():
            where = f"{assignment.id}: models.{subject.key}.checks.{check.key}"
            kind = CHECK_TYPES.get(check.type)
            if kind is None:
                raise SpecError(f"{where}: unknown check type {check.type!r}; known: {', '.join(CHECK_TYPES)}")
            unknown = set(check.options) - set(kind.options)
            if unknown:
                raise SpecError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}; {check.type} takes "
                                f"{', '.join(kind.options) or 'none'}")
            missing = [key for key in kind.required if key not in check.options]
            if missing:
                raise SpecError(f"{where}: {check.type} needs {', '.join(missing)}")
            if subject.kind not in kind.kinds:
                raise SpecError(f"{where}: {check.type} applies to subjects of kind {', '.join(kind.kinds)}, not "
                                f"{subject.kind}")
            if kind.sweep and not subject.variants:
                raise SpecError(f"{where}: {check.type} needs the subject's variants (a sweep)")
    for file in assignment.files:
        for check in file.checks.values():
            if check.type not in ("present", "imports"):
                raise SpecError(f"{assignment.id}: files.{file.name}.checks.{check.key}: unknown check type "
                                f"{check.type!r}; known: present, imports")


def sweep_subjects(subject: Subject) -> list[Subject]:
    from .locate import variants_of

    return variants_of(subject.spec)
