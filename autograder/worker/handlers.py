"""What the worker does on request. Every answer is plain data: JSON values and numeric arrays.

Requests name a model by ``{"file", "class", "seed"}``; the worker imports and
builds what it needs on demand and remembers it, so the trusted side never
depends on the worker's state surviving (a restarted worker rebuilds).
The worker is given training data and held-out inputs; never labels of
held-out data, never expected answers.
"""

from __future__ import annotations

import math
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..layers import describe_layers
from ..probes import jacobian_singular_values
from ..recipes import Recipe
from ..state_dicts import unwrap_state_dict
from ..training import fit, predict
from . import cuda_shim
from .importer import describe_exception, import_student_file
from .trace import trace_ops


class StudentError(Exception):
    """The student's code failed; carries the description for the trusted side."""

    def __init__(self, where: str, error: BaseException, root: Path):
        super().__init__(where)
        self.info = {"where": where, **describe_exception(error, root)}


@dataclass
class WorkerState:
    root: Path  # the scratch copy of the submission
    device: torch.device
    modules: dict = field(default_factory=dict)  # file -> ImportOutcome

    def outcome(self, file: str):
        if file not in self.modules:
            path = (self.root / file).resolve()
            if not path.is_relative_to(self.root) or not path.is_file():
                raise FileNotFoundError(file)
            self.modules[file] = import_student_file(path, self.root)
        return self.modules[file]

    def model_class(self, ref: dict):
        outcome = self.outcome(ref["file"])
        cls = getattr(outcome.module, ref["class"], None) if outcome.module else None
        if not isinstance(cls, type) or not issubclass(cls, torch.nn.Module):
            raise LookupError(f"{ref['file']} defines no nn.Module class {ref['class']}")
        return cls

    def build(self, ref: dict) -> torch.nn.Module:
        cls = self.model_class(ref)
        torch.manual_seed(ref.get("seed", 0))
        try:
            model = cls()
        except BaseException as error:
            raise StudentError(f"{ref['class']}()", error, self.root) from None
        if not isinstance(model, torch.nn.Module):
            raise LookupError(f"{ref['class']}() did not return an nn.Module")
        return model


def _call(state: WorkerState, where: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except BaseException as error:  # student code: anything may come out
        raise StudentError(where, error, state.root) from None


def _part(model, part: str):
    if part == "forward":
        return model
    if part == "decode_encoded":  # the reconstruction: decoder applied to everything the encoder returns
        def decode_encoded(x):
            encoded = model.encoder(x)
            return model.decoder(*encoded) if isinstance(encoded, (tuple, list)) else model.decoder(encoded)

        return decode_encoded
    attribute = getattr(model, part, None)
    if attribute is None or not callable(attribute):
        raise LookupError(f"the model has no callable attribute '{part}'")
    return attribute


def _tensors(output) -> list[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for t in output if isinstance(t, torch.Tensor)]
    return []


def _as_array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().numpy()


# ---------------------------------------------------------------- handlers


def handle_import(state, request, arrays):
    outcome = state.outcome(request["file"])
    classes = sorted(k for k, v in vars(outcome.module).items()
                     if isinstance(v, type) and issubclass(v, torch.nn.Module)) if outcome.module else []
    module_name = outcome.module.__name__ if outcome.module else None
    own = [k for k in classes if getattr(vars(outcome.module)[k], "__module__", None) in (module_name, "__main__")]
    return {**outcome.as_dict(), "modules": classes, "own_modules": own, "cuda_requests": cuda_shim.requests}, {}


def handle_describe(state, request, arrays):
    model = state.build(request["model"])
    parameters = sum(p.numel() for p in model.parameters())
    return {"layers": describe_layers(model), "parameters": parameters,
            "state_keys": {k: list(v.shape) for k, v in model.state_dict().items()},
            "attributes": {name: callable(getattr(model, name, None)) for name in ("encoder", "decoder")}}, {}


def handle_forward(state, request, arrays):
    """Run a part of the model on the given inputs; return every tensor it returned."""
    model = state.build(request["model"]).to(state.device).eval()
    fn = _part(model, request.get("part", "forward"))
    inputs = [torch.from_numpy(np.array(arrays[f"in{i}"])).to(state.device) for i in range(len(arrays))]
    with torch.no_grad():
        output = _call(state, f"{request['model']['class']}.{request.get('part', 'forward')}", fn, *inputs)
    tensors = _tensors(output)
    kind = "tensor" if isinstance(output, torch.Tensor) else type(output).__name__
    return {"kind": kind, "count": len(tensors)}, {f"out{i}": _as_array(t) for i, t in enumerate(tensors)}


def handle_trace(state, request, arrays):
    model = state.build(request["model"]).eval()
    fn = _part(model, request.get("part", "forward"))
    x = torch.from_numpy(np.array(arrays["in0"]))
    ops = _call(state, f"{request['model']['class']}.{request.get('part', 'forward')}", trace_ops, model, lambda: fn(x))
    return {"ops": ops}, {}


def handle_jacobian(state, request, arrays):
    model = state.build(request["model"]).eval()
    x = torch.from_numpy(np.array(arrays["in0"]))
    values = _call(state, f"{request['model']['class']}.forward", jacobian_singular_values, model, x,
                   request.get("probes", 8))
    return {"singular_values": values}, {}


def handle_train_predict(state, request, arrays):
    """Train a fresh instance with a recipe, then predict the held-out inputs."""
    recipe = Recipe(**request["recipe"])
    model = state.build({**request["model"], "seed": request["seed"]})
    shape = tuple(request["input_shape"])
    labels = torch.from_numpy(np.array(arrays["train_labels"])) if "train_labels" in arrays else None
    log = _call(state, f"training {request['model']['class']}", fit, model, recipe,
                torch.from_numpy(np.array(arrays["train_images"])), labels,
                input_shape=shape, device=state.device, seed=request["seed"])
    part = request.get("part", "forward")
    outputs = _call(state, f"{request['model']['class']}.{part}", predict, model,
                    torch.from_numpy(np.array(arrays["eval_inputs"])), input_shape=shape, device=state.device,
                    call=_part(model, part))
    finite = bool(torch.isfinite(outputs).all())
    return {"steps_done": log.steps_done, "losses": log.losses, "stopped": log.stopped, "finite": finite}, \
        {"outputs": _as_array(outputs)}


def handle_train_state(state, request, arrays):
    """Train a fresh instance with a recipe and return its state_dict as arrays (for making example weights)."""
    recipe = Recipe(**request["recipe"])
    model = state.build({**request["model"], "seed": request["seed"]})
    labels = torch.from_numpy(np.array(arrays["train_labels"])) if "train_labels" in arrays else None
    log = None
    if recipe.steps and not request.get("untrained"):
        log = _call(state, f"training {request['model']['class']}", fit, model, recipe,
                    torch.from_numpy(np.array(arrays["train_images"])), labels,
                    input_shape=tuple(request["input_shape"]), device=state.device, seed=request["seed"])
    weights = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return {"steps_done": log.steps_done if log else 0, "keys": list(weights)}, weights


def handle_weights_predict(state, request, arrays):
    """Load a weight file (weights_only) into a fresh instance and predict the held-out inputs."""
    model = state.build(request["model"])
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
        return {"loaded": False, "problem": "not a state_dict", "detail": type(loaded).__name__}, {}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(state_dict) if expected[k].shape != state_dict[k].shape)
    if missing or unexpected or mismatched:
        shapes = {k: [list(state_dict[k].shape), list(expected[k].shape)] for k in mismatched}
        return {"loaded": False, "problem": "keys", "missing": missing, "unexpected": unexpected,
                "mismatched": shapes}, {}
    model.load_state_dict(state_dict)
    if len(arrays["eval_inputs"]) == 0:
        return {"loaded": True, "finite": True, "note": note}, {}
    part = request.get("part", "forward")
    outputs = _call(state, f"{request['model']['class']}.{part}", predict, model,
                    torch.from_numpy(np.array(arrays["eval_inputs"])), input_shape=tuple(request["input_shape"]),
                    device=state.device, call=_part(model, part))
    return {"loaded": True, "finite": bool(torch.isfinite(outputs).all()), "note": note}, \
        {"outputs": _as_array(outputs)}


def _plain_numbers(value, depth=0):
    """A student's numeric answer as nested lists of floats; None if it is not numeric."""
    if depth > 4:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or value.size > 10_000:
            return None
        return value.astype(float).tolist()
    if isinstance(value, (bool, int, float, np.number)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (list, tuple)) and len(value) <= 10_000:
        items = [_plain_numbers(v, depth + 1) for v in value]
        return None if any(i is None for i in items) else items
    return None


def handle_values(state, request, arrays):
    outcome = state.outcome(request["file"])
    namespace = vars(outcome.module) if outcome.module else {}
    found = {}
    for name in request["names"]:
        if name in namespace:
            found[name] = {"value": _plain_numbers(namespace[name]), "type": type(namespace[name]).__name__}
    return {"values": found, "import": outcome.as_dict()}, {}


HANDLERS = {
    "import": handle_import,
    "describe": handle_describe,
    "forward": handle_forward,
    "trace": handle_trace,
    "jacobian": handle_jacobian,
    "train_predict": handle_train_predict,
    "weights_predict": handle_weights_predict,
    "train_state": handle_train_state,
    "values": handle_values,
}


def dispatch(state: WorkerState, request: dict, arrays: dict) -> tuple[dict, dict]:
    handler = HANDLERS.get(request.get("op"))
    if handler is None:
        return {"ok": False, "failure": "protocol", "message": f"unknown op {request.get('op')!r}"}, {}
    try:
        header, out = handler(state, request, arrays)
        return {"ok": True, **header}, out
    except StudentError as error:
        return {"ok": False, "failure": "student", **error.info}, {}
    except (LookupError, FileNotFoundError) as error:
        return {"ok": False, "failure": "missing", "message": str(error).strip("'\"")}, {}


def close_quietly(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def serve(state: WorkerState, request_fd: int, reply_fd: int, special=None) -> None:
    """Answer requests until told to exit or the channel closes.

    ``special(request)`` may take an op the handlers do not know: it returns a reply to send, or
    ``False`` to stop serving (the channel has been handed on).
    """
    from .protocol import ChannelClosed, read_message, write_message

    # A process the student's code forks must never answer for the worker: it loses the channel.
    os.register_at_fork(after_in_child=lambda: close_quietly(request_fd, reply_fd))
    while True:
        try:
            request, arrays = read_message(request_fd)
        except ChannelClosed:
            return
        if request.get("op") == "exit":
            return
        if special is not None and request.get("op") not in HANDLERS:
            reply = special(request)
            if reply is False:
                return
            write_message(reply_fd, reply)
            continue
        try:
            header, out = dispatch(state, request, arrays)
        except Exception:  # a fault of the grader's own code: report it, keep serving
            header, out = {"ok": False, "failure": "internal", "message": traceback.format_exc(limit=5)}, {}
        write_message(reply_fd, header, out)
