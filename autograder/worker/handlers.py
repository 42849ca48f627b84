"""The worker's operations, one function each (``HANDLERS``): what it does on request. Every answer is plain
data: JSON values and numeric arrays.

Requests name a subject by a plain reference (see ``subjects.py``); the worker
imports, finds and builds what it needs on demand, so the trusted side never
depends on the worker's state surviving (a restarted worker rebuilds). The
worker is given training data and held-out inputs; never labels of held-out
data, never expected answers.
"""

from __future__ import annotations

import numpy as np
import torch

from ..common.layers import describe_layers
from ..common.probes import jacobian_singular_values
from ..common.recipes import Recipe
from ..common.signatures import parameters_of
from ..common.state_dicts import unwrap_state_dict
from ..common.training import as_rows, fit, predict
from . import cuda_shim, keras_fit, keras_support, notebook_roles, scripts
from .arguments import evaluate_arguments
from .importer import STAND_INS
from .subjects import NotFound, arguments_mapping, build, call_text, lookup
from .trace import trace_ops
from .values import describe_value, kind_of, plain_numbers
from .watch import TrainingWatch

scripts.install_import_input_message()  # input() while a file is imported: says so, stdin being empty

ITEMS_SHOWN = 8  # items of a data set measured


# ---------------------------------------------------------------- models


def _call(model, training: bool = False):
    """How a model is called: a Keras model is told whether it is training."""
    if keras_support.is_keras_model(model):
        return lambda *x: model(*x, training=training)
    return model


def _part(model, part: str, parts: dict):
    """``forward``, an encoder or decoder (attribute or method, by the name the assignment gives), or
    ``decode_encoded``: the decoder applied to everything the encoder returns."""
    if part == "forward":
        return _call(model)
    if part == "decode_encoded":
        encoder, decoder = _part(model, "encoder", parts), _part(model, "decoder", parts)

        def decode_encoded(x):
            encoded = encoder(x)
            return decoder(*encoded) if isinstance(encoded, (tuple, list)) else decoder(encoded)

        return decode_encoded
    attribute = getattr(model, parts.get(part, part), None)
    if attribute is None or not callable(attribute):
        raise LookupError(f"the model has no callable attribute '{parts.get(part, part)}'")
    return attribute


def _part_of(model, request):
    """The part of the model a request names (default ``forward``)."""
    return _part(model, request.get("part", "forward"), request["model"].get("parts", {}))


def _tensors(output) -> list[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for t in output if isinstance(t, torch.Tensor)]
    return []


def _as_array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


def _model(state, request, arrays=None, fresh=False):
    """The model a request names, built (seeded) and, for a Keras model built lazily, called once so that it
    has its weights. ``fresh``: a model held in a variable is copied with new weights (for training)."""
    ref = request["model"]
    model = build(state, ref, fresh=fresh, arrays=arrays)
    if not (isinstance(model, torch.nn.Module) or keras_support.is_keras_model(model)):
        raise LookupError(f"{call_text(ref)} returned a {type(model).__name__}, not a model")
    shape = ref.get("input_shape")
    if keras_support.is_keras_model(model) and not model.built and shape:
        state.student(f"building {ref['name']}", model, torch.zeros(1, *shape))
    return model


def _inputs(state, arrays) -> list[torch.Tensor]:
    return [torch.from_numpy(np.array(arrays[f"in{i}"])).to(state.device) for i in range(len(arrays))]


def handle_import(state, request, arrays):
    """Import a file (or read the notebook's namespace): what it defines, by kind."""
    source = request["file"]
    outcome = state.outcome(source)
    namespace = vars(outcome.module) if outcome.module else {}
    module_name = outcome.module.__name__ if outcome.module else None
    kinds = {k: kind_of(v) for k, v in namespace.items() if not k.startswith("_")}
    kinds = {k: v for k, v in kinds.items() if v != "other"}
    own = [k for k in kinds if getattr(namespace[k], "__module__", None) in (module_name, "__main__")]
    history = state.histories.get(source, {})
    rebound = {name: len(values) for name, values in history.items() if len(values) > 1}
    fits = keras_fit.capture.records if keras_fit.capture else []
    bound = {name: [cell for cell, _ in values] for name, values in history.items()}
    roles = state.roles[source].summary(lambda value: state.name_of(source, value)) if source in state.roles else {}
    if roles:
        roles["trained"] += [{"cell": r.cell, "name": state.name_of(source, r.model),
                              "class": type(r.model).__name__[:100]} for r in fits]
    signatures = {k: parameters_of(namespace[k]) for k in own
                  if kinds[k] in ("module-class", "keras-model-class", "dataset-class", "function")}
    return {**outcome.as_dict(), "kinds": kinds, "own": sorted(own), "rebound": rebound, "fits": len(fits),
            "bound": bound, "roles": roles, "signatures": signatures,
            "modules": sorted(k for k, v in kinds.items() if v in ("module-class", "keras-model-class")),
            "cuda_requests": cuda_shim.requests, "stand_ins": list(STAND_INS)}, {}


def handle_describe(state, request, arrays):
    model = _model(state, request)
    value, found = lookup(state, request["model"])
    parts = request["model"].get("parts", {})
    attributes = {role: callable(getattr(model, name, None)) for role, name in parts.items()}
    reply = {"parameters": sum(p.numel() for p in model.parameters()), "class": type(model).__name__,
             "attributes": attributes, "found": found}
    if request["model"].get("find", "class") in ("class", "factory"):
        reply["arguments"] = [list(change) for change in arguments_mapping(value, request["model"]).changed]
    if keras_support.is_keras_model(model):
        reply.update(keras_support.describe_keras(model))
        reply["state_keys"] = {}
    else:
        reply.update(framework="torch", layers=describe_layers(model),
                     state_keys={k: list(v.shape) for k, v in model.state_dict().items()})
    return reply, {}


def handle_forward(state, request, arrays):
    """Run a part of the model on the given inputs; return every tensor it returned."""
    model = _model(state, request).to(state.device).eval()
    part = request.get("part", "forward")
    fn = _part(model, part, request["model"].get("parts", {}))
    with torch.no_grad():
        output = state.student(f"{request['model']['name']}.{part}", fn, *_inputs(state, arrays))
    tensors = _tensors(output)
    kind = "tensor" if isinstance(output, torch.Tensor) else type(output).__name__
    return {"kind": kind, "count": len(tensors)}, {f"out{i}": _as_array(t) for i, t in enumerate(tensors)}


def handle_trace(state, request, arrays):
    model = _model(state, request).eval()
    part = request.get("part", "forward")
    fn = _part(model, part, request["model"].get("parts", {}))
    x = torch.from_numpy(np.array(arrays["in0"]))
    where = f"{request['model']['name']}.{part}"
    if keras_support.is_keras_model(model):
        with torch.no_grad():
            ops = state.student(where, keras_support.trace_keras, model, lambda: fn(x))
    else:
        ops = state.student(where, trace_ops, model, lambda: fn(x))
    return {"ops": ops}, {}


def handle_jacobian(state, request, arrays):
    model = _model(state, request).eval()
    x = torch.from_numpy(np.array(arrays["in0"]))
    values = state.student(f"{request['model']['name']}.forward", jacobian_singular_values, _call(model), x,
                           request.get("probes", 8))
    return {"singular_values": values}, {}


AGREEMENT_INPUTS = 4  # held-out inputs also predicted the way the structure probes call the model


def _agreement(state, call, inputs: torch.Tensor, outputs: torch.Tensor) -> dict:
    """The first few held-out inputs predicted again as the structure probes call the model (one input at a
    time, tracked by autograd), against their batched predictions: the largest difference and the outputs' scale.
    A model that behaves one way while probed and another while scored shows here; one that cannot be called so
    is not compared (the probes report it themselves)."""
    count = min(AGREEMENT_INPUTS, len(inputs))
    if count == 0 or not inputs.is_floating_point():
        return {}
    rows = []
    try:
        for i in range(count):
            x = inputs[i : i + 1].to(state.device).clone().requires_grad_(True)
            rows.append(as_rows(call(x), 1, prefer=x[0].numel()).detach().float().cpu())
        alone = torch.cat(rows)
    except Exception:  # noqa: BLE001 - the student's code failing here is reported by the probes
        return {}
    batched = outputs[:count]
    if alone.shape != batched.shape:
        return {"difference": float("inf"), "scale": 0.0}
    return {"difference": float((alone - batched).abs().max()), "scale": float(batched.abs().max())}


def handle_train_predict(state, request, arrays):
    """Train a fresh instance with a recipe, then predict the held-out inputs."""
    recipe = Recipe(**request["recipe"])
    model = _model(state, {**request, "model": {**request["model"], "seed": request["seed"]}}, fresh=True)
    labels = torch.from_numpy(np.array(arrays["train_labels"])) if "train_labels" in arrays else None
    name = request["model"]["name"]
    log = state.student(f"training {name}", fit, model, recipe, torch.from_numpy(np.array(arrays["train_inputs"])),
                        labels, device=state.device, seed=request["seed"], forward=_call(model, training=True))
    part = request.get("part", "forward")
    inputs, call = torch.from_numpy(np.array(arrays["eval_inputs"])), _part_of(model, request)
    outputs = state.student(f"{name}.{part}", predict, model, inputs, device=state.device, call=call)
    finite = bool(torch.isfinite(outputs).all())
    return {"steps_done": log.steps_done, "losses": log.losses, "stopped": log.stopped, "finite": finite,
            "agreement": _agreement(state, call, inputs, outputs)}, {"outputs": _as_array(outputs)}


def handle_predict(state, request, arrays):
    """The model as it is (a notebook's variable, as its cells left it) on the held-out inputs."""
    model = _model(state, request, fresh=False)
    part = request.get("part", "forward")
    inputs, call = torch.from_numpy(np.array(arrays["eval_inputs"])), _part_of(model, request)
    outputs = state.student(f"{request['model']['name']}.{part}", predict, model, inputs, device=state.device,
                            call=call)
    return {"finite": bool(torch.isfinite(outputs).all()), "agreement": _agreement(state, call, inputs, outputs)}, \
        {"outputs": _as_array(outputs)}


def handle_train_state(state, request, arrays):
    """Train a fresh instance with a recipe and return its state_dict as arrays (for making example weights)."""
    recipe = Recipe(**request["recipe"])
    model = _model(state, {**request, "model": {**request["model"], "seed": request["seed"]}}, fresh=True)
    labels = torch.from_numpy(np.array(arrays["train_labels"])) if "train_labels" in arrays else None
    log = None
    if recipe.steps and not request.get("untrained"):
        log = state.student(f"training {request['model']['name']}", fit, model, recipe,
                            torch.from_numpy(np.array(arrays["train_inputs"])), labels, device=state.device,
                            seed=request["seed"], forward=_call(model, training=True))
    weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return {"steps_done": log.steps_done if log else 0, "keys": list(weights)}, weights


def handle_weights_predict(state, request, arrays):
    """Load a weight file (weights_only) into a fresh instance and predict the held-out inputs."""
    model = _model(state, request, fresh=True)
    path = (state.root / request["weights"]).resolve()
    if not path.is_relative_to(state.root) or not path.is_file():
        return {"loaded": False, "problem": "missing", "detail": request["weights"]}, {}
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure of an untrusted file is reported, not raised
        text = str(error)
        problem = "pickled object" if "weights_only" in text or "Unsupported global" in text else "unreadable"
        return {"loaded": False, "problem": problem, "detail": text.splitlines()[0][:300] if text else ""}, {}
    state_dict, note = unwrap_state_dict(loaded, torch.Tensor)
    if state_dict is None:
        return {"loaded": False, "problem": "not a state_dict", "detail": type(loaded).__name__[:100]}, {}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(state_dict) if expected[k].shape != state_dict[k].shape)
    if missing or unexpected or mismatched:
        shapes = {k: [list(state_dict[k].shape), list(expected[k].shape)] for k in mismatched}
        return {"loaded": False, "problem": "keys", "missing": missing[:20], "unexpected": unexpected[:20],
                "mismatched": dict(list(shapes.items())[:20])}, {}
    model.load_state_dict(state_dict)
    if len(arrays["eval_inputs"]) == 0:
        return {"loaded": True, "finite": True, "note": note}, {}
    part = request.get("part", "forward")
    inputs, call = torch.from_numpy(np.array(arrays["eval_inputs"])), _part_of(model, request)
    outputs = state.student(f"{request['model']['name']}.{part}", predict, model, inputs, device=state.device,
                            call=call)
    return {"loaded": True, "finite": bool(torch.isfinite(outputs).all()), "note": note,
            "agreement": _agreement(state, call, inputs, outputs)}, {"outputs": _as_array(outputs)}


# ---------------------------------------------------------------- data sets, functions, answers


def _element(value) -> tuple[dict, np.ndarray | None]:
    """One element of a data set item: its type, dtype, shape and values."""
    if isinstance(value, torch.Tensor):
        return {"type": "Tensor", "dtype": str(value.dtype).removeprefix("torch."), "shape": list(value.shape),
                "device": value.device.type}, value.detach().cpu().double().numpy()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"type": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape)}, value.astype(np.float64)
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return {"type": type(value).__name__, "dtype": type(value).__name__, "shape": []}, \
            np.asarray(float(value), np.float64)
    return {"type": type(value).__name__[:100], "dtype": None, "shape": None}, None


def handle_dataset_items(state, request, arrays):
    """Build a data set class on the arrays sent, and read its length and some items."""
    dataset = build(state, request["model"], arrays=arrays)
    changes = arguments_mapping(lookup(state, request["model"])[0], request["model"]).changed
    name = request["model"]["name"]
    length = state.student(f"len({name}(...))", len, dataset)
    items, out = [], {}
    for index in request.get("indices", list(range(ITEMS_SHOWN))):
        if index >= length:
            break
        item = state.student(f"{name}(...)[{index}]", dataset.__getitem__, index)
        elements = list(item) if isinstance(item, (tuple, list)) else [item]
        described = []
        for position, element in enumerate(elements[:4]):
            info, values = _element(element)
            described.append(info)
            if values is not None and values.size <= 1_000_000:
                out[f"item{index}_{position}"] = values
        items.append({"index": index, "tuple": isinstance(item, (tuple, list)), "elements": described})
    return {"length": int(length), "items": items, "arguments": [list(change) for change in changes]}, out


def handle_call(state, request, arrays):
    """Call a function subject with the arguments given, watching the training it does (optimizer steps,
    zero_grad calls, the optimizer and loss types); Keras fit calls inside are capped at ``steps``. With
    ``predict_with``, the model passed as an argument then predicts arrays sent (for the grader to score)."""
    function, _ = lookup(state, request["model"])
    if not callable(function):
        raise NotFound(f"{request['model']['name']} is a {type(function).__name__}, not a function")
    args, kwargs = evaluate_arguments(state, request["model"].get("args", []), request["model"].get("kwargs", {}),
                                      arrays, build)
    capture = keras_fit.capture
    budget = capture.budget if capture else None
    if capture and request.get("steps"):
        capture.budget = int(request["steps"])
    try:
        with TrainingWatch() as watch:
            result = state.student(call_text(request["model"]), function, *args, **kwargs)
    finally:
        if capture:
            capture.budget = budget
    reply, out = {"value": describe_value(result), "training": watch.report()}, {}
    model = result if keras_support.is_keras_model(result) else getattr(result, "model", None)
    if keras_support.is_keras_model(model):
        reply["model"] = {"dense_widths": keras_support.dense_widths(model), **keras_support.compiled(model)}
    after = request.get("predict_with")
    if after:
        model = (args + list(kwargs.values()))[after["arg"]]
        part = after.get("part", "forward")
        outputs = state.student(f"{request['model']['name']}'s model", predict, model,
                                torch.from_numpy(np.array(arrays[after["inputs"]])), device=state.device,
                                call=_part(model, part, after.get("parts", {})))
        out["predicted"] = _as_array(outputs)
    return reply, out


def handle_fits(state, request, arrays):
    """The Keras models the code passed to fit, in order: their Dense widths, compile settings and data."""
    capture = state.fits(request["file"])
    fits = []
    for index, record in enumerate(capture.records):
        fits.append({"index": index, "cell": record.cell, "dense_widths": keras_support.dense_widths(record.model),
                     "compiled": keras_support.compiled(record.model), "data": record.summary})
    return {"fits": fits, "stopped": capture.stopped}, {}


def _answer_value(state, source: str, name: str, where: dict, namespace: dict):
    """A variable's value as the problem's cells left it (``where``: its window and role in a notebook), and
    how it was found; ``(None, None)`` when absent."""
    history = state.histories.get(source, {}).get(name)
    cells = where.get("cells")
    if history is None or cells is None:
        if name in namespace:
            return namespace[name], {"by": "name"}
    else:
        inside = [(cell, value) for cell, value in history if cell is not None and cells[0] <= cell < cells[1]]
        if inside:
            return inside[-1][1], {"by": "name", "cell": inside[-1][0]}
    role = where.get("role")
    if role and source in state.roles:
        plotted = [(p["cell"], p["values"]) for p in state.roles[source].plotted if p["kind"] == role]
        chosen = notebook_roles.pick(plotted, cells)
        if chosen is not None:
            return chosen[1], {"by": role, "cell": chosen[0], "name": state.name_of(source, chosen[1])}
    if history and cells is not None:
        return None, {"elsewhere": sorted({cell for cell, _ in history if cell is not None})[:8]}
    return None, None


def handle_values(state, request, arrays):
    outcome = state.outcome(request["file"])
    namespace = vars(outcome.module) if outcome.module else {}
    found, elsewhere = {}, {}
    for name in request["names"]:
        value, how = _answer_value(state, request["file"], name, request.get("where", {}).get(name, {}), namespace)
        if how is None:
            continue
        if "elsewhere" in how:
            elsewhere[name] = how["elsewhere"]
            continue
        found[name] = {"value": plain_numbers(value), "type": type(value).__name__[:100], "found": how}
        if isinstance(value, (np.ndarray, torch.Tensor)):
            found[name]["shape"] = list(value.shape)
    return {"values": found, "elsewhere": elsewhere, "import": outcome.as_dict()}, {}


def handle_run_script(state, request, arrays):
    """Run a command-line program of the submission as ``__main__`` in its own copy of the submission
    (``scripts.py``): how it ended, what it printed, what it wrote, whether its weight files load."""
    return scripts.run_script(state.root, request), {}


HANDLERS = {
    "import": handle_import,
    "describe": handle_describe,
    "forward": handle_forward,
    "trace": handle_trace,
    "jacobian": handle_jacobian,
    "train_predict": handle_train_predict,
    "predict": handle_predict,
    "weights_predict": handle_weights_predict,
    "train_state": handle_train_state,
    "dataset_items": handle_dataset_items,
    "call": handle_call,
    "fits": handle_fits,
    "values": handle_values,
    "run_script": handle_run_script,
}
