"""Code that runs inside a notebook's Jupyter kernel (started by the worker, in its sandbox).

``install`` runs before the notebook's first cell: it makes the kernel end with
the worker, cuts training in a cell to a few optimizer steps, turns shell
escapes, package installs and Colab drive mounts into recorded no-ops, sends
dataset loaders to local copies, and lets CUDA-only code run on the CPU.

``serve`` runs after the last cell: the kernel takes over the worker's
channel and answers the grader's requests itself, with everything the notebook
defined available as if it were a module named after the notebook file.
"""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path

from . import cuda_shim, keras_support, notebook_roles
from .importer import ImportOutcome, redirect_keras_datasets, redirect_torchvision_datasets
from .kernel_seed import die_with_parent

STEP_BUDGET = 10  # optimizer steps a cell may take before its training is stopped
THROTTLED_BATCH = 2  # examples in each batch a training DataLoader yields once the budget is spent
THROTTLED_STEPS = 400  # steps on throttled batches a cell may still take before its training is stopped
SKIPPED_LINE_MAGICS = ("pip", "conda", "mamba", "cd", "sx", "system", "env", "load_ext", "run")
SKIPPED_CELL_MAGICS = ("bash", "sh", "script", "system", "writefile", "html", "javascript", "js")
# Every other cell magic is skipped too unless it is one of these (they run the cell's Python, or only display):
# %%python3, %%perl, %%ruby, %%sx and the like would start other programs, in the background with --bg.
RUN_CELL_MAGICS = ("capture", "time", "timeit", "prun", "markdown", "latex", "svg")


class StopTraining(BaseException):  # noqa: N818 - control flow: reported as "training stopped"
    """Raised into a cell that trains past the step budget."""


class _State:
    def __init__(self):
        self.skipped: list[str] = []  # what was not run: "!pip install x", "drive.mount(...)"
        self.adapted: list[str] = []  # what was run differently, and how
        self.stopped_cells: int = 0
        self.steps = 0
        self.loader_batch = False  # a DataLoader yielded a throttled batch, which may take one step
        self.throttled_cells: set[int] = set()
        self.cut_cells: set[int] = set()  # cells given cut batches (of a loader their optimizers stepped on)
        self.last_loader = None  # the DataLoader that yielded the latest batch (a weak reference)
        self.training: list = []  # DataLoaders an optimizer stepped on in a throttled pass (kept: ids are reused)
        self.repeated: dict = {}  # id(loader) -> (loader, batch, versions): an evaluation loader's throttled batch
        self.repeated_inputs: set[int] = set()  # ids of the tensors of those batches
        self.forwards: dict = {}  # (id(module), id(input)) -> what it returned on a repeated batch
        self.loader_labels: dict = {}  # cell -> the labels its DataLoader batches held, for the last few cells
        self.scatters: list[dict] = []  # the scatter plots drawn: their cell, size and colours
        self.in_cell = False
        self.depth = 0  # cells run inside cells (%%capture)
        self.sources: dict[int, str] = {}  # notebook cell index -> its source
        self.cell: int | None = None  # the notebook cell running now
        self.bindings: dict[str, list] = {}  # name -> [(cell, value)] for classes, functions and models
        self.seed = 0  # the notebook's; each cell is seeded from it and its index
        self.watched: set[str] = set()  # names whose every binding is kept, whatever they hold (answers)
        self.hooks: list = []  # what recording roles installed, removed before the grader's requests


def _cell_index(source: str) -> int | None:
    """The notebook cell this source belongs to: the first one after the last cell run that has it."""
    after = state.cell if state.cell is not None else -1
    later = [i for i, text in state.sources.items() if text == source and i > after]
    earlier = [i for i, text in state.sources.items() if text == source]
    return min(later) if later else (min(earlier) if earlier else None)


def _record_bindings(namespace: dict) -> None:
    """Remember every class, function and model each cell binds, so that the grader can take the one
    defined for a problem even when a later cell binds the name again."""
    from .values import kind_of

    for name, value in list(namespace.items()):
        if name.startswith("_") or name in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        history = state.bindings.get(name)
        if history and history[-1][1] is value:
            continue
        if name in state.watched or kind_of(value) != "other":
            state.bindings.setdefault(name, []).append((state.cell, value))


state = _State()


def _on_step(*args, **kwargs):
    if not state.in_cell:
        return
    notebook_roles.on_step(args[0])
    state.steps += 1
    if state.steps <= STEP_BUDGET:
        return
    loader = state.last_loader() if state.last_loader is not None else None
    if loader is not None and state.loader_batch:
        if not any(known is loader for known in state.training):
            state.training[:0] = [loader]
            del state.training[64:]
    if state.loader_batch and state.steps <= STEP_BUDGET + THROTTLED_STEPS:
        state.loader_batch = False  # a throttled loader's batch: the loop goes on, and the step changes nothing
        for group in args[0].param_groups:
            for parameter in group["params"]:
                parameter.grad = None
        return
    state.stopped_cells += 1
    raise StopTraining(f"training stopped by the grader after {STEP_BUDGET} optimizer steps in this cell")


def _throttle_data_loaders() -> None:
    """Once a cell has spent its step budget, every pass over a DataLoader yields its first batch only, and the
    optimizer steps taken on it change nothing. Loops over epochs, over models and over learning rates then run
    to their end quickly, so that what the cell binds afterwards (the last model of a sweep, the lists it fills)
    is what the student's code binds, trained for the budget's steps; a loop that takes no batches from a
    DataLoader is stopped instead.

    The batch is the loader's own, whole, so that the student's code sees the shapes it would (a cell that
    shows the first ten test images still finds ten); only a loader the cell's optimizers have already stepped
    on in such a pass (a training loader, whose passes the epochs repeat) then yields ``THROTTLED_BATCH``
    examples, so that epochs cost little. A cell that fails after it was given such cut batches is reported as
    failing under the grader's cut, not counted (``cut_cells``)."""
    import weakref

    from torch.utils.data import dataloader

    original = dataloader._BaseDataLoaderIter.__next__

    def __next__(self):
        loader = getattr(self, "_grader_loader", None)
        if loader is None:
            loader = self._grader_loader = _owner(self)
        if not (state.in_cell and state.steps >= STEP_BUDGET):
            batch = original(self)
            if state.in_cell:
                _record_labels(batch)
                state.last_loader = loader
            return batch
        if getattr(self, "_grader_throttled", False):
            raise StopIteration
        self._grader_throttled = True
        state.throttled_cells.add(state.cell)
        state.loader_batch = True
        state.last_loader = loader
        owner = loader() if loader is not None else None
        if owner is not None and _trains(owner):
            state.cut_cells.add(state.cell)
            return _first_examples(original(self), THROTTLED_BATCH)
        cached = state.repeated.get(id(owner)) if owner is not None else None
        if cached is not None and cached[0] is owner and _unchanged(cached[2]):
            return cached[1]  # the same batch again: the forward passes on it are remembered (_memoise_forwards)
        batch = original(self)
        if owner is not None:
            tensors = _tensors_of(batch)
            state.repeated[id(owner)] = (owner, batch, [(t, t._version) for t in tensors])
            state.repeated_inputs.update(id(t) for t in tensors)
        return batch

    def _owner(iterator):
        owner = getattr(iterator, "_grader_owner", None)
        return weakref.ref(owner) if owner is not None else None

    original_iter = dataloader.DataLoader.__iter__

    def __iter__(self):
        iterator = original_iter(self)
        try:
            iterator._grader_owner = self
        except AttributeError:
            pass
        return iterator

    dataloader._BaseDataLoaderIter.__next__ = __next__
    dataloader.DataLoader.__iter__ = __iter__


LABELS_KEPT = 5000  # labels kept per cell, for the cells that last took batches from a DataLoader
LABEL_CELLS = 4
SCATTERS_KEPT = 20  # scatter plots recorded (10 with their colours)


def _record_labels(batch) -> None:
    """The labels of a DataLoader batch (its second element, integers), in order, for the cell running now: what
    a later scatter plot's colours can be compared with."""
    import torch

    if not isinstance(batch, (list, tuple)) or len(batch) < 2:
        return
    labels = batch[1]
    if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.is_floating_point():
        return
    kept = state.loader_labels.setdefault(state.cell, [])
    if len(kept) < LABELS_KEPT:
        kept.extend(labels[: LABELS_KEPT - len(kept)].tolist())
    while len(state.loader_labels) > LABEL_CELLS:
        state.loader_labels.pop(next(iter(state.loader_labels)))


def _record_scatters() -> None:
    """Every scatter plot the notebook draws (2-D or 3-D), with its colours when they are numbers, and the labels
    the DataLoaders of the cells before it gave: the grader compares them."""
    import matplotlib.axes
    import numpy as np

    original = matplotlib.axes.Axes.scatter

    def scatter(self, x, y, *args, **kwargs):
        try:
            colours = kwargs.get("c", args[1] if len(args) > 1 else None)
            points = int(np.size(x))
            values = np.asarray(colours) if colours is not None else None
            numeric = values is not None and values.dtype.kind in "biuf" and values.ndim == 1 and \
                values.size == points
            numeric = numeric and sum(s["colours"] is not None for s in state.scatters) < SCATTERS_KEPT // 2
            if len(state.scatters) < SCATTERS_KEPT and state.in_cell:
                state.scatters.append({
                    "cell": state.cell, "points": points, "three_d": getattr(self, "name", "") == "3d",
                    "colours": values[:LABELS_KEPT].astype(float).tolist() if numeric else None,
                    "recent_labels": [[cell, labels[:points]] for cell, labels in state.loader_labels.items()
                                      if numeric and cell is not None and len(labels) >= min(points, LABELS_KEPT)],
                })
        except Exception:  # noqa: BLE001 - recording must never change what the student's plot does
            pass
        return original(self, x, y, *args, **kwargs)

    matplotlib.axes.Axes.scatter = scatter


def _guard_torch_save(root: Path, limit: int = 5000) -> None:
    """``torch.save`` as the notebook ran it on the student's machine, as far as the grader can, with a note.

    Onto a file the student submitted: skipped, since the notebook's training is cut short here and the
    submitted file is the one graded. Into a folder that does not exist here (a Colab Drive the grader did not
    mount, another machine's path): written to a scratch file instead, which ``torch.load`` of that path reads.
    """
    import itertools

    import torch

    submitted = {p.resolve() for p in itertools.islice(root.rglob("*"), limit) if p.is_file()}
    elsewhere: dict[Path, Path] = {}
    original_save, original_load = torch.save, torch.load

    def note(text: str) -> None:
        if text not in state.adapted:
            state.adapted.append(text)

    def save(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)):
            path = Path(f).resolve()
            if path in submitted:
                note(f"torch.save(..., {str(f)[:100]!r}) was skipped: the notebook's training is cut short here, "
                     "so the file you submitted is the one graded")
                return None
            if not path.parent.is_dir():
                scratch = root / ".saved-elsewhere"
                scratch.mkdir(exist_ok=True)
                elsewhere[path] = f = scratch / f"{len(elsewhere)}-{path.name}"
                note(f"torch.save(..., {str(path)[:100]!r}) wrote a scratch file: that folder does not exist "
                     "where the grader runs the notebook")
        return original_save(obj, f, *args, **kwargs)

    def load(f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and Path(f).resolve() in elsewhere:
            f = elsewhere[Path(f).resolve()]
        return original_load(f, *args, **kwargs)

    torch.save, torch.load = save, load


def _trains(loader) -> bool:
    """The loader fed an optimizer in a throttled pass. Another loader over the same data set need not (an
    evaluation loader over the training set, in order), so it is not taken for one."""
    return any(known is loader for known in state.training)


def _tensors_of(batch) -> list:
    import torch

    items = batch if isinstance(batch, (list, tuple)) else batch.values() if isinstance(batch, dict) else [batch]
    return [t for t in items if isinstance(t, torch.Tensor)]


def _unchanged(versions) -> bool:
    return all(t._version == version for t, version in versions)


def _memoise_forwards() -> None:
    """Once a cell's training budget is spent, the weights no longer change (the steps taken change nothing), so
    a model called again, without gradients, on the same batch a throttled evaluation loader yields again (the
    validation pass of every remaining epoch) gives what it gave before: it is not computed again. Only a model
    wholly in eval mode without hooks is remembered, and anything that could make it differ (the batch, the
    output, a parameter or buffer changed in place) computes it afresh."""
    import torch

    original = torch.nn.Module.__call__

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != 1 or not state.repeated_inputs or torch.is_grad_enabled() or \
                not isinstance(args[0], torch.Tensor) or id(args[0]) not in state.repeated_inputs:
            return original(self, *args, **kwargs)
        x = args[0]
        if any(m.training or m._forward_hooks or m._forward_pre_hooks for m in self.modules()):
            return original(self, x)  # dropout draws, batch statistics update, a hook of the student's runs
        versions = (x._version, tuple(p._version for p in self.parameters()),
                    tuple(b._version for b in self.buffers()))
        key = (id(self), id(x))
        hit = state.forwards.get(key)
        if hit is not None and hit[0] is self and hit[1] is x and hit[2] == versions and _unchanged(hit[4]):
            return hit[3]
        output = original(self, x)
        state.forwards[key] = (self, x, versions, output, [(t, t._version) for t in _tensors_of(output)])
        return output

    torch.nn.Module.__call__ = __call__
    state.hooks.append(types.SimpleNamespace(remove=lambda: setattr(torch.nn.Module, "__call__", original)))


def _first_examples(batch, count: int):
    """The batch cut to its first ``count`` examples: every tensor as long as the first one is cut."""
    import torch

    tensors = [t for t in (batch if isinstance(batch, (list, tuple)) else batch.values() if isinstance(batch, dict)
                           else [batch]) if isinstance(t, torch.Tensor) and t.dim() > 0]
    if not tensors:
        return batch
    size = tensors[0].shape[0]

    def cut(item):
        return item[:count] if isinstance(item, torch.Tensor) and item.dim() > 0 and item.shape[0] == size else item

    if isinstance(batch, torch.Tensor):
        return cut(batch)
    if isinstance(batch, dict):
        return {k: cut(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        items = [cut(v) for v in batch]
        return type(batch)(items) if isinstance(batch, list) or type(batch) is tuple else type(batch)(*items)
    return batch


def _skip(kind: str, what: str):
    state.skipped.append(f"{kind}: {what.strip()[:120]}")


def _fake_colab() -> None:
    """``from google.colab import drive`` and friends, as recorded no-ops."""
    colab = types.ModuleType("google.colab")
    drive = types.ModuleType("google.colab.drive")
    drive.mount = lambda path="", *a, **k: _skip("Colab drive mount", f"drive.mount({path!r})")
    drive.flush_and_unmount = lambda *a, **k: None
    files = types.ModuleType("google.colab.files")
    files.upload = lambda *a, **k: (_skip("Colab upload", "files.upload()"), {})[1]
    files.download = lambda name="", *a, **k: _skip("Colab download", f"files.download({name!r})")
    patches = types.ModuleType("google.colab.patches")
    patches.cv2_imshow = lambda *a, **k: None
    colab.drive, colab.files, colab.patches = drive, files, patches
    if "google" not in sys.modules:
        try:
            import google  # noqa: F401 - a namespace package from another distribution, if any
        except ImportError:
            sys.modules["google"] = types.ModuleType("google")
    sys.modules["google"].colab = colab
    sys.modules.update({"google.colab": colab, "google.colab.drive": drive, "google.colab.files": files,
                        "google.colab.patches": patches})


_TF_KERAS = re.compile(r"\btensorflow\.keras\b")
_FROM_TF_IMPORT_KERAS = re.compile(r"^(\s*)from\s+tensorflow\s+import\s+keras\b", re.M)


def _keras_for_tensorflow_keras(lines: list[str]) -> list[str]:
    """``tensorflow.keras`` is Keras 3 here (on PyTorch, no TensorFlow): its imports read ``keras``."""
    text = "".join(lines)
    changed = _FROM_TF_IMPORT_KERAS.sub(r"\1import keras", _TF_KERAS.sub("keras", text))
    if changed != text:
        note = "its tensorflow.keras imports were served by Keras 3 (keras), which has the same names, on PyTorch"
        if note not in state.adapted:
            state.adapted.append(note)
    return changed.splitlines(keepends=True)


def _neutralise_shell(ip) -> None:
    """``!cmd``, ``%pip``, ``%%bash``... are recorded and skipped; ``%%capture`` just runs its cell."""
    from IPython.utils.text import SList

    ip.system = ip.system_raw = ip.system_piped = lambda cmd: _skip("shell command", f"!{cmd}")
    ip.getoutput = lambda cmd, *a, **k: (_skip("shell command", f"!{cmd}"), SList())[1]
    for name in SKIPPED_LINE_MAGICS:
        ip.register_magic_function(lambda line, _n=name: _skip("magic", f"%{_n} {line}"), "line", name)
    cell_magics = set(SKIPPED_CELL_MAGICS) | set(ip.magics_manager.magics.get("cell", {}))
    for name in sorted(cell_magics - set(RUN_CELL_MAGICS)):
        ip.register_magic_function(lambda line, cell, _n=name: _skip("cell magic", f"%%{_n} {line}"), "cell", name)

    def capture(line, cell):
        _skip("cell magic", "%%capture (the cell was run, its output kept)")
        ip.run_cell(cell)

    ip.register_magic_function(capture, "cell", "capture")


def use_share(settings: dict) -> None:
    """The worker's share of the machine, in this process (the worker, or its notebook kernel): its torch
    threads, a lower priority than the grader's, and its part of the GPU's memory when workers share one."""
    import torch

    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(os.getpriority(os.PRIO_PROCESS, 0), int(settings.get("nice", 5))))
    except (OSError, ValueError):
        pass

    torch.set_num_threads(max(1, int(settings.get("threads", 2))))
    if settings.get("gpu_memory_fraction") and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(float(settings["gpu_memory_fraction"]))


def seed_everything(seed: int) -> None:
    """The same notebook gives the same results twice: Python's, NumPy's and torch's generators start seeded
    (a notebook that seeds them itself still does)."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def install(settings: dict) -> None:
    """Prepare the kernel before the notebook's first cell."""
    global STEP_BUDGET
    STEP_BUDGET = int(settings.get("step_budget", STEP_BUDGET))
    die_with_parent()  # end with the worker that started us
    import torch.optim.optimizer as optimizer
    from IPython import get_ipython

    root = str(Path.cwd().resolve())
    if root not in sys.path:
        sys.path.append(root)  # the notebook imports the student's .py files, after the standard paths
    state.seed = int(settings.get("seed", 0))
    seed_everything(state.seed)
    use_share(settings)
    cuda_shim.install()
    redirect_torchvision_datasets(settings.get("torchvision_root"))
    redirect_keras_datasets(settings.get("torchvision_root"))
    optimizer.register_optimizer_step_pre_hook(_on_step)
    _throttle_data_loaders()
    _guard_torch_save(Path.cwd())
    _record_scatters()
    keras_support.install_fit_capture(STEP_BUDGET, cell=lambda: state.cell)
    state.sources = {int(k): v for k, v in settings.get("sources", {}).items()}
    state.watched = set(settings.get("watch", []))
    ip = get_ipython()
    state.hooks = notebook_roles.install(ip, cell=lambda: state.cell, in_cell=lambda: state.in_cell)
    _memoise_forwards()

    def before(info=None):
        state.depth += 1
        if state.depth == 1:
            state.steps, state.in_cell, state.loader_batch = 0, True, False
            state.repeated, state.repeated_inputs, state.forwards = {}, set(), {}
            state.cell = _cell_index(getattr(info, "raw_cell", ""))
            if state.cell is not None:  # each cell starts from its own seed: what the grader cut in the cells
                seed_everything(state.seed * 100_003 + state.cell)  # before it cannot change its random numbers

    def after(result=None):
        state.depth = max(0, state.depth - 1)  # the set-up cell ends without having started
        if state.depth == 0:
            state.in_cell = False
            state.repeated, state.repeated_inputs, state.forwards = {}, set(), {}
            notebook_roles.end_of_cell(state.cell, ip.user_ns)
            _record_bindings(ip.user_ns)

    ip.events.register("pre_run_cell", before)
    ip.events.register("post_run_cell", after)
    ip.input_transformers_post.append(_keras_for_tensorflow_keras)
    _fake_colab()
    _neutralise_shell(ip)


def report() -> dict:
    capture = keras_support.capture
    from .importer import STAND_INS

    return {"skipped": list(state.skipped), "stopped_cells": state.stopped_cells,
            "throttled_cells": sorted(c for c in state.throttled_cells if c is not None),
            "cut_cells": sorted(c for c in state.cut_cells if c is not None),
            "scatters": state.scatters,
            "cuda_requests": cuda_shim.requests, "keras_fits_stopped": capture.stopped if capture else 0,
            "stand_ins": list(STAND_INS), "adapted": [*state.adapted, *keras_support.ADAPTED]}


def serve(request_fd: int, reply_fd: int, notebook: str, pending: dict, settings: dict) -> None:
    """Answer the grader from inside the kernel, then end the kernel; never returns."""
    import torch
    from IPython import get_ipython

    from ..common.protocol import write_message
    from .handlers import WorkerState
    from .handlers import serve as serve_requests

    state.in_cell = False
    for hook in state.hooks:
        hook.remove()
    namespace = types.ModuleType(Path(notebook).stem)
    namespace.__dict__.update({k: v for k, v in get_ipython().user_ns.items() if not k.startswith("_")})
    worker = WorkerState(root=Path.cwd().resolve(), device=torch.device(settings.get("device", "cpu")))
    worker.modules[notebook] = ImportOutcome(namespace, names=sorted(vars(namespace)))
    _record_bindings(get_ipython().user_ns)
    worker.histories[notebook] = state.bindings
    worker.roles[notebook] = notebook_roles.roles
    write_message(reply_fd, {**pending, "notebook": {**pending.get("notebook", {}), **report()}})
    serve_requests(worker, request_fd, reply_fd)
    os._exit(0)
