"""The one cap on training the student's own code runs (a notebook's cells, a script, a file being imported):
its optimizer steps are counted while the cap is armed, and past ``STEP_BUDGET`` of them training is cut.

How it is cut depends on who armed it. A notebook cell or a script (``arm(cell, throttle=True)``): every pass over
a DataLoader then yields its first batch only and the steps taken on it change nothing, so that loops over epochs,
models and learning rates run to their end quickly and what the code binds or saves afterwards is what the
student's code would, trained for the budget's steps; a loop that takes no batches from a DataLoader is stopped
(``StopTraining``). A file being imported (``importer.py``) is stopped at once, through ``on_past_budget``.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable

from ..common.settings import STEP_BUDGET  # optimizer steps a cell, a script or an import may take

THROTTLED_BATCH = 2  # examples in each batch a training DataLoader yields once the budget is spent
THROTTLED_STEPS = 400  # steps on throttled batches a cell may still take before its training is stopped


class StopTraining(BaseException):  # noqa: N818 - control flow: reported as "training stopped"
    """Raised into a cell or a script that trains past the step budget."""


class _Cap:
    def __init__(self):
        self.budget = STEP_BUDGET
        self.armed = False
        self.throttle = True  # past the budget: cut DataLoader passes (True), or stop at once (``on_past_budget``)
        self.cell: int | None = None  # the notebook cell running now (0 for a script)
        self.steps = 0
        self.stopped = 0  # cells stopped
        self.loader_batch = False  # a DataLoader yielded a throttled batch, which may take one step
        self.throttled_cells: set[int] = set()
        self.cut_cells: set[int] = set()  # cells given cut batches (of a loader their optimizers stepped on)
        self.last_loader = None  # the DataLoader that yielded the latest batch (a weak reference)
        self.training: list = []  # DataLoaders an optimizer stepped on in a throttled pass (kept: ids are reused)
        self.repeated: dict = {}  # id(loader) -> (loader, batch, versions): an evaluation loader's throttled batch
        self.repeated_inputs: set[int] = set()  # ids of the tensors of those batches
        self.forwards: dict = {}  # (id(module), id(input)) -> what it returned on a repeated batch
        self.on_step: list[Callable] = []  # called with the optimizer at each counted step (notebook roles)
        self.on_batch: list[Callable] = []  # called with each batch a DataLoader yields while armed (labels)
        self.on_past_budget: Callable | None = None  # raises what ends the training, where not throttled
        self.installed = False


cap = _Cap()


def arm(cell: int | None = 0, throttle: bool = True, on_past_budget: Callable | None = None) -> None:
    """Count from zero: a cell, a script or an import starts."""
    cap.armed, cap.cell, cap.steps, cap.loader_batch = True, cell, 0, False
    cap.throttle, cap.on_past_budget = throttle, on_past_budget
    cap.repeated, cap.repeated_inputs, cap.forwards = {}, set(), {}


def disarm() -> None:
    cap.armed = False
    cap.repeated, cap.repeated_inputs, cap.forwards = {}, set(), {}


def past_budget() -> bool:
    return cap.steps > cap.budget


def install(budget: int | None = None, memoise: bool = True) -> list:
    """Count every optimizer step (once per process), cut DataLoader passes past the budget (``budget``: the
    steps allowed, where not the default), and remember the forward passes on repeated evaluation batches; the
    handles of what is removable before the grader's own requests run."""
    if budget is not None:
        cap.budget = int(budget)
    if cap.installed:
        return []
    import torch.optim.optimizer as optimizer

    cap.installed = True
    optimizer.register_optimizer_step_pre_hook(_on_step)
    _throttle_data_loaders()
    return [_memoise_forwards()] if memoise else []


def _on_step(*args, **kwargs):
    if not cap.armed:
        return
    for hook in cap.on_step:
        hook(args[0])
    cap.steps += 1
    if cap.steps <= cap.budget:
        return
    if not cap.throttle and cap.on_past_budget is not None:
        cap.on_past_budget(cap.budget)
    loader = cap.last_loader() if cap.last_loader is not None else None
    if loader is not None and cap.loader_batch:
        if not any(known is loader for known in cap.training):
            cap.training[:0] = [loader]
            del cap.training[64:]
    if cap.loader_batch and cap.steps <= cap.budget + THROTTLED_STEPS:
        cap.loader_batch = False  # a throttled loader's batch: the loop goes on, and the step changes nothing
        for group in args[0].param_groups:
            for parameter in group["params"]:
                parameter.grad = None
        return
    cap.stopped += 1
    raise StopTraining(f"training stopped by the grader after {cap.budget} optimizer steps in this cell")


def _throttle_data_loaders() -> None:
    """Once a cell has spent its step budget, every pass over a DataLoader yields its first batch only, and the
    optimizer steps taken on it change nothing.

    The batch is the loader's own, whole, so that the student's code sees the shapes it would (a cell that
    shows the first ten test images still finds ten); only a loader the cell's optimizers have already stepped
    on in such a pass (a training loader, whose passes the epochs repeat) then yields ``THROTTLED_BATCH``
    examples, so that epochs cost little. A cell that fails after it was given such cut batches is reported as
    failing under the grader's cut, not counted (``cut_cells``)."""
    from torch.utils.data import dataloader

    original = dataloader._BaseDataLoaderIter.__next__

    def __next__(self):
        loader = getattr(self, "_grader_loader", None)
        if loader is None:
            loader = self._grader_loader = _owner(self)
        if not (cap.armed and cap.throttle and cap.steps >= cap.budget):
            batch = original(self)
            if cap.armed:
                for hook in cap.on_batch:
                    hook(batch)
                cap.last_loader = loader
            return batch
        if getattr(self, "_grader_throttled", False):
            raise StopIteration
        self._grader_throttled = True
        cap.throttled_cells.add(cap.cell)
        cap.loader_batch = True
        cap.last_loader = loader
        owner = loader() if loader is not None else None
        if owner is not None and _trains(owner):
            cap.cut_cells.add(cap.cell)
            return _first_examples(original(self), THROTTLED_BATCH)
        cached = cap.repeated.get(id(owner)) if owner is not None else None
        if cached is not None and cached[0] is owner and _unchanged(cached[2]):
            return cached[1]  # the same batch again: the forward passes on it are remembered (_memoise_forwards)
        batch = original(self)
        if owner is not None:
            tensors = _tensors_of(batch)
            cap.repeated[id(owner)] = (owner, batch, [(t, t._version) for t in tensors])
            cap.repeated_inputs.update(id(t) for t in tensors)
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


def _trains(loader) -> bool:
    """The loader fed an optimizer in a throttled pass. Another loader over the same data set need not (an
    evaluation loader over the training set, in order), so it is not taken for one."""
    return any(known is loader for known in cap.training)


def _tensors_of(batch) -> list:
    import torch

    items = batch if isinstance(batch, (list, tuple)) else batch.values() if isinstance(batch, dict) else [batch]
    return [t for t in items if isinstance(t, torch.Tensor)]


def _unchanged(versions) -> bool:
    return all(t._version == version for t, version in versions)


def _memoise_forwards():
    """Once a cell's training budget is spent, the weights no longer change (the steps taken change nothing), so
    a model called again, without gradients, on the same batch a throttled evaluation loader yields again (the
    validation pass of every remaining epoch) gives what it gave before: it is not computed again. Only a model
    wholly in eval mode without hooks is remembered, and anything that could make it differ (the batch, the
    output, a parameter or buffer changed in place) computes it afresh. Returns the handle that undoes it."""
    import torch

    original = torch.nn.Module.__call__

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != 1 or not cap.repeated_inputs or torch.is_grad_enabled() or \
                not isinstance(args[0], torch.Tensor) or id(args[0]) not in cap.repeated_inputs:
            return original(self, *args, **kwargs)
        x = args[0]
        if any(m.training or m._forward_hooks or m._forward_pre_hooks for m in self.modules()):
            return original(self, x)  # dropout draws, batch statistics update, a hook of the student's runs
        versions = (x._version, tuple(p._version for p in self.parameters()),
                    tuple(b._version for b in self.buffers()))
        key = (id(self), id(x))
        hit = cap.forwards.get(key)
        if hit is not None and hit[0] is self and hit[1] is x and hit[2] == versions and _unchanged(hit[4]):
            return hit[3]
        output = original(self, x)
        cap.forwards[key] = (self, x, versions, output, [(t, t._version) for t in _tensors_of(output)])
        return output

    torch.nn.Module.__call__ = __call__
    return types.SimpleNamespace(remove=lambda: setattr(torch.nn.Module, "__call__", original))


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
