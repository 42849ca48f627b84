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
import sys
import types
from pathlib import Path

from ..common.settings import WorkerSettings
from . import cell_records, cuda_shim, keras_fit, notebook_compat, notebook_roles, training_cap
from .cell_records import record_bindings, records
from .importer import ImportOutcome, redirect_keras_datasets, redirect_torchvision_datasets
from .kernel_seed import die_with_parent
from .share import seed_everything, use_share
from .training_cap import cap


class _State:
    def __init__(self):
        self.in_cell = False
        self.depth = 0  # cells run inside cells (%%capture)
        self.sources: dict[int, str] = {}  # notebook cell index -> its source
        self.cell: int | None = None  # the notebook cell running now
        self.seed = 0  # the notebook's; each cell is seeded from it and its index
        self.hooks: list = []  # what recording roles installed, removed before the grader's requests


state = _State()


def _cell_index(source: str) -> int | None:
    """The notebook cell this source belongs to: the first one after the last cell run that has it."""
    after = state.cell if state.cell is not None else -1
    later = [i for i, text in state.sources.items() if text == source and i > after]
    earlier = [i for i, text in state.sources.items() if text == source]
    return min(later) if later else (min(earlier) if earlier else None)


def install(settings: WorkerSettings) -> None:
    """Prepare the kernel before the notebook's first cell."""
    die_with_parent()  # end with the worker that started us
    from IPython import get_ipython

    root = str(Path.cwd().resolve())
    if root not in sys.path:
        sys.path.append(root)  # the notebook imports the student's .py files, after the standard paths
    state.seed = settings.seed
    seed_everything(state.seed)
    use_share(settings)
    cuda_shim.install()
    redirect_torchvision_datasets(settings.torchvision_root)
    redirect_keras_datasets(settings.torchvision_root)
    ip = get_ipython()
    memo = training_cap.install(settings.step_budget)
    cap.on_step.append(notebook_roles.on_step)
    cap.on_batch.append(cell_records.record_labels)
    notebook_compat.guard_torch_save(Path.cwd())
    records.cell, records.in_cell = (lambda: state.cell), (lambda: state.in_cell)
    cell_records.record_scatters()
    keras_fit.install_fit_capture(cap.budget, cell=lambda: state.cell)
    state.sources = dict(settings.sources)
    records.watched = set(settings.watch)
    state.hooks = [*notebook_roles.install(ip, cell=lambda: state.cell, in_cell=lambda: state.in_cell), *memo]

    def before(info=None):
        state.depth += 1
        if state.depth == 1:
            state.in_cell = True
            state.cell = _cell_index(getattr(info, "raw_cell", ""))
            training_cap.arm(state.cell)
            if state.cell is not None:  # each cell starts from its own seed: what the grader cut in the cells
                seed_everything(state.seed * 100_003 + state.cell)  # before it cannot change its random numbers

    def after(result=None):
        state.depth = max(0, state.depth - 1)  # the set-up cell ends without having started
        if state.depth == 0:
            state.in_cell = False
            training_cap.disarm()
            notebook_roles.end_of_cell(state.cell, ip.user_ns)
            record_bindings(ip.user_ns)

    ip.events.register("pre_run_cell", before)
    ip.events.register("post_run_cell", after)
    ip.input_transformers_post.append(notebook_compat.keras_for_tensorflow_keras)
    notebook_compat.fake_colab()
    notebook_compat.neutralise_shell(ip)


def report() -> dict:
    capture = keras_fit.capture
    from .importer import STAND_INS

    return {"skipped": list(notebook_compat.skipped), "stopped_cells": cap.stopped,
            "throttled_cells": sorted(c for c in cap.throttled_cells if c is not None),
            "cut_cells": sorted(c for c in cap.cut_cells if c is not None),
            "scatters": records.scatters,
            "cuda_requests": cuda_shim.requests, "keras_fits_stopped": capture.stopped if capture else 0,
            "stand_ins": list(STAND_INS), "adapted": [*notebook_compat.adapted, *keras_fit.ADAPTED]}


def serve(request_fd: int, reply_fd: int, notebook: str, pending: dict, settings: WorkerSettings) -> None:
    """Answer the grader from inside the kernel, then end the kernel; never returns."""
    import torch
    from IPython import get_ipython

    from ..common.protocol import write_message
    from .serving import serve as serve_requests
    from .state import WorkerState

    state.in_cell = False
    training_cap.disarm()
    cap.on_step.clear()  # the grader's own requests train and import: nothing of the notebook's is recorded
    cap.on_batch.clear()
    for hook in state.hooks:
        hook.remove()
    namespace = types.ModuleType(Path(notebook).stem)
    namespace.__dict__.update({k: v for k, v in get_ipython().user_ns.items() if not k.startswith("_")})
    worker = WorkerState(root=Path.cwd().resolve(), device=torch.device(settings.device))
    worker.modules[notebook] = ImportOutcome(namespace, names=sorted(vars(namespace)))
    record_bindings(get_ipython().user_ns)
    worker.histories[notebook] = records.bindings
    worker.roles[notebook] = notebook_roles.roles
    write_message(reply_fd, {**pending, "notebook": {**pending.get("notebook", {}), **report()}})
    serve_requests(worker, request_fd, reply_fd)
    os._exit(0)
