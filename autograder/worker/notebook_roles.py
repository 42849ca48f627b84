"""What a notebook's cells did with what they made, recorded cell by cell in its kernel.

A TA finds Problem 3's detector as "the model Problem 3's cells trained",
whatever the student called it; the grader does the same from what this module
records while the notebook runs:

- ``trained``: each model whose parameters an optimizer stepped, with the cell
  that stepped it (a module called by the cell whose parameters the optimizer
  holds; else one the namespace holds);
- ``plotted``: the data of each scatter plot (its points as rows, or the array
  whose columns they are) and the x values of each line plot;
- ``unpacked``: each ``a, b = f(...)`` whose call returned something other than
  as many values as names (a tensor unpacked along its batch, or a tuple of
  another length), so that a check can say where the notebook relies on what
  ``forward`` returns.

Everything kept is bounded (a few dozen entries, arrays up to ``PLOT_VALUES``).
"""

from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass, field

KEPT = 64  # entries of each kind
PLOT_VALUES = 200_000  # numbers of one plotted array copied (a student's own array is kept by reference)
CALLED = 32  # top-level modules remembered per cell


@dataclass
class Roles:
    trained: list = field(default_factory=list)  # (cell, model)
    plotted: list = field(default_factory=list)  # {"cell", "kind": "scatter" | "plot_x", "values": ndarray}
    unpacked: list = field(default_factory=list)  # {"cell", "line", "names", "callee", "returned", ...}
    called: dict = field(default_factory=dict)  # cell -> [weakref to a top-level module called in it]
    stepped: dict = field(default_factory=dict)  # cell -> {id(optimizer): weakref to it}
    depth: int = 0

    def summary(self, name_of) -> dict:
        """Plain data for the trusted side: ``name_of(obj)`` names an object the namespace binds (or None)."""
        return {
            "trained": [{"cell": cell, "name": name_of(model), "class": type(model).__name__[:100]}
                        for cell, model in self.trained],
            "plotted": [{"cell": p["cell"], "kind": p["kind"], "shape": list(p["values"].shape)}
                        for p in self.plotted],
            "unpacked": list(self.unpacked),
        }


roles = Roles()
_cell = lambda: None  # noqa: E731 - set by ``install``: the notebook cell running now, or None
_in_cell = lambda: False  # noqa: E731


# ---------------------------------------------------------------- trained models


def _on_module_call(module, args):
    if not _in_cell():
        return
    if roles.depth == 0:
        kept = roles.called.setdefault(_cell(), [])
        if len(kept) < CALLED and all(ref() is not module for ref in kept):
            try:
                kept.append(weakref.ref(module))
            except TypeError:
                pass
    roles.depth += 1


def _after_module_call(module, args, output):
    if _in_cell():
        roles.depth = max(0, roles.depth - 1)


def on_step(optimizer) -> None:
    """An optimizer steps in the cell running now: remember it, to find its model when the cell ends."""
    if _in_cell():
        roles.stepped.setdefault(_cell(), {})[id(optimizer)] = weakref.ref(optimizer)


def _parameter_ids(optimizer) -> set[int]:
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


def _models_in(namespace: dict):
    """Models the namespace holds: bound to a name, or one level inside a list, tuple or dict."""
    import torch

    from . import keras_support

    for value in list(namespace.values()):
        items = list(value.values())[:KEPT] if isinstance(value, dict) else \
            list(value)[:KEPT] if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, torch.nn.Module) or keras_support.is_keras_model(item):
                yield item


def end_of_cell(cell, namespace: dict) -> None:
    """The models the cell's optimizers stepped: of the modules the cell called (or the namespace holds), the
    one holding most of each optimizer's parameters."""
    import torch

    stepped = [ref() for ref in roles.stepped.pop(cell, {}).values()]
    called = [ref() for ref in roles.called.pop(cell, [])]
    roles.depth = 0
    candidates = [m for m in called if m is not None]
    candidates += [m for m in _models_in(namespace) if isinstance(m, torch.nn.Module) and
                   all(m is not c for c in candidates)]
    for optimizer in (o for o in stepped if o is not None):
        wanted = _parameter_ids(optimizer)
        best, overlap = None, 0
        for module in candidates:
            shared = len(wanted & {id(p) for p in module.parameters()})
            if shared > overlap:
                best, overlap = module, shared
        if best is not None and not any(m is best and c == cell for c, m in roles.trained):
            roles.trained.append((cell, best))
            del roles.trained[:-KEPT]


# ---------------------------------------------------------------- plots


def _as_array(value):
    """``(array, base)``: the values as a NumPy array, and the object they are a view of (a NumPy array or a torch
    tensor, compared by identity), if any."""
    import numpy as np

    try:
        if hasattr(value, "detach"):
            return value.detach().cpu().numpy(), getattr(value, "_base", None)
        array = np.asarray(value)
        return array, (array.base if isinstance(array.base, np.ndarray) else None)
    except Exception:  # noqa: BLE001 - anything a plot accepts; what cannot be read is not recorded
        return None, None


def _rows(columns) -> object:
    """The points of a scatter as rows, or, when its coordinates are columns of one 2-D array (``z[:, 0]``,
    ``z[:, 1]``), that array: what a student computed and plotted."""
    import numpy as np

    arrays = [_as_array(c) for c in columns]
    if any(a is None or a.ndim != 1 for a, _ in arrays) or len({a.shape for a, _ in arrays}) != 1:
        return None
    base = arrays[0][1]
    if base is not None and all(b is base for _, b in arrays) and len(base.shape) == 2 and \
            base.shape[0] == arrays[0][0].shape[0]:
        if hasattr(base, "detach"):
            base = base.detach().cpu().numpy()  # once, for every column
        if base.dtype.kind in "biuf":
            return base  # the student's own array, kept by reference (its shape is what counts, whatever its size)
    if sum(a.size for a, _ in arrays) > PLOT_VALUES or not all(a.dtype.kind in "biuf" for a, _ in arrays):
        return None
    return np.column_stack([a for a, _ in arrays])


def _keep_plot(kind: str, values) -> None:
    if values is None or not _in_cell():
        return
    roles.plotted.append({"cell": _cell(), "kind": kind, "values": values})
    del roles.plotted[:-KEPT]


def _patch_plots() -> None:
    import matplotlib.axes

    scatter, plot = matplotlib.axes.Axes.scatter, matplotlib.axes.Axes.plot
    inside = {"depth": 0}

    def recorded_scatter(original):
        def wrapper(self, *args, **kwargs):
            if inside["depth"] == 0:
                try:
                    columns = [a for a in args[:3] if not isinstance(a, str)]
                    if getattr(self, "name", "") == "3d" and len(columns) < 3 and "zs" in kwargs:
                        columns.append(kwargs["zs"])
                    if getattr(self, "name", "") != "3d":
                        columns = columns[:2]
                    _keep_plot("scatter", _rows(columns))
                except Exception:  # noqa: BLE001 - recording never changes what the plot does
                    pass
            inside["depth"] += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                inside["depth"] -= 1
        return wrapper

    def recorded_plot(self, *args, **kwargs):
        try:
            data = [a for a in args if not isinstance(a, str)]
            if len(data) >= 2:
                x, _ = _as_array(data[0])
                if x is not None and x.ndim == 1 and x.dtype.kind in "biuf" and x.size <= PLOT_VALUES:
                    _keep_plot("plot_x", x.copy())
        except Exception:  # noqa: BLE001
            pass
        return plot(self, *args, **kwargs)

    matplotlib.axes.Axes.scatter = recorded_scatter(scatter)
    matplotlib.axes.Axes.plot = recorded_plot
    try:
        from mpl_toolkits.mplot3d.axes3d import Axes3D

        Axes3D.scatter = recorded_scatter(Axes3D.scatter)
        Axes3D.scatter3D = Axes3D.scatter
    except ImportError:
        pass


# ---------------------------------------------------------------- unpacking


def unpacked(count: int, line: int, text: str, function, /, *args, **kwargs):
    """``names = function(*args, **kwargs)`` as the cell wrote it: called, and its result returned unchanged;
    recorded when it is not ``count`` values (the cell splits a batch, or will fail to unpack)."""
    result = function(*args, **kwargs)
    if _in_cell() and len(roles.unpacked) < KEPT:
        try:
            _record_unpacking(count, line, text, function, result)
        except Exception:  # noqa: BLE001 - recording never changes the cell
            pass
    return result


def _record_unpacking(count, line, text, function, result) -> None:
    import torch

    if isinstance(result, (tuple, list)):
        if len(result) == count:
            return
        returned = {"kind": type(result).__name__, "count": len(result)}
    elif isinstance(result, torch.Tensor):
        returned = {"kind": "tensor", "shape": list(result.shape)}
    else:
        return
    owner = getattr(function, "__self__", None)  # model.forward(x), as the model's own call
    if isinstance(owner, torch.nn.Module) and getattr(function, "__name__", "") == "forward":
        function = owner
    callee = type(function).__name__ if isinstance(function, torch.nn.Module) else \
        getattr(function, "__name__", type(function).__name__)
    entry = {"cell": _cell(), "line": line, "text": text[:120], "count": count, "callee": str(callee)[:100],
             "returned": returned,
             "module": isinstance(function, torch.nn.Module)}
    if entry not in roles.unpacked:
        roles.unpacked.append(entry)


class UnpackingRecorder(ast.NodeTransformer):
    """``a, b = f(x)`` becomes ``a, b = unpacked(2, line, "a, b = f(...)", f, x)``: the same call, the same
    values."""

    def __init__(self, function_name: str):
        self.function_name = function_name

    def visit_Assign(self, node):  # noqa: N802 - ast's visitor protocol
        self.generic_visit(node)
        if len(node.targets) != 1 or not isinstance(node.targets[0], (ast.Tuple, ast.List)):
            return node
        targets = node.targets[0].elts
        if not targets or any(isinstance(t, ast.Starred) for t in targets) or not isinstance(node.value, ast.Call):
            return node
        call = node.value
        names = f"{', '.join(ast.unparse(t) for t in targets)} = {ast.unparse(call.func)}(...)"[:120]
        node.value = ast.copy_location(ast.Call(
            func=ast.Name(self.function_name, ast.Load()),
            args=[ast.Constant(len(targets)), ast.Constant(node.lineno), ast.Constant(names), call.func, *call.args],
            keywords=call.keywords,
        ), call)
        return node


# ---------------------------------------------------------------- installing


def install(ip, cell, in_cell, function_name: str = "_grader_unpacked") -> list:
    """Record roles in this kernel (``cell()``: the cell running; ``in_cell()``: whether a cell runs). Returns
    the hook handles to remove before the grader's own requests run."""
    import torch

    global _cell, _in_cell
    _cell, _in_cell = cell, in_cell
    _patch_plots()
    ip.user_ns[function_name] = unpacked
    ip.ast_transformers.append(UnpackingRecorder(function_name))
    module = torch.nn.modules.module
    return [module.register_module_forward_pre_hook(_on_module_call),
            module.register_module_forward_hook(_after_module_call, always_call=True)]


def pick(entries: list, cells, accept=None):
    """The last entry within the window ``cells = [start, end)`` (every entry when there is none) that
    ``accept`` takes."""
    inside = [e for e in entries if cells is None or (e[0] is not None and cells[0] <= e[0] < cells[1])]
    for entry in reversed(inside):
        if accept is None or accept(entry[1]):
            return entry
    return None
