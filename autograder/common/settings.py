"""The one settings object of a worker: chosen by the grader (``host/client.py``), completed by the sandbox's
launcher and the warm templates, sent to the worker as JSON, and read there once, by the worker, its notebook's
kernel and a script's interpreter alike. Every setting has one default, here."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

STEP_BUDGET = 10  # optimizer steps (torch) or batches per fit (Keras) a cell, a script or an import may take
CELL_SECONDS = 120.0  # one notebook cell, in seconds of computing
NOTEBOOK_SECONDS = 600.0  # all of a notebook's cells together


@dataclass(frozen=True)
class WorkerSettings:
    # chosen by the grader for each worker
    device: str = "cpu"
    threads: int = 2  # torch and OpenMP threads: the worker's share of the cores
    torchvision_root: str | None = None
    import_seconds: float = 60.0  # the worker's soft limit on importing one file
    gpu_memory_fraction: float | None = None  # its share of the GPU's memory, when workers share one
    slot: int = 0  # which of the concurrent workers: each runs as its own unprivileged uid
    cpus: float | None = None  # a CPU-time quota in cores for it and all it starts (where a cgroup can be made)
    passive_wait: bool = False  # OpenMP threads sleep while waiting: for more workers than cores
    gpu: int | None = None  # which of several GPUs it sees (as its only one, cuda:0), when slots take them in turn
    nice: int = 5  # the worker and its kernel run at a lower priority than the grader
    # what the worker itself must do before any student code (the sandbox's launcher, the warm templates)
    drop_uid: int | None = None  # the unprivileged uid it becomes
    processes: int | None = None  # the process limit of that uid
    copy_from: str | None = None  # the read-only copy of the submission it copies into its working folder
    workdir: str | None = None
    preload: tuple[str, ...] = ()  # modules a warm template imports before it forks workers
    # a notebook's run (grading/notebook.py) and a script's (grading/measure/scripts.py)
    cell_seconds: float = CELL_SECONDS
    notebook_seconds: float = NOTEBOOK_SECONDS
    step_budget: int = STEP_BUDGET
    seed: int = 0  # the notebook's: each cell starts from a seed made of it and the cell's index
    watch: tuple[str, ...] = ()  # names whose every binding the kernel keeps (answers read from variables)
    sources: dict = field(default_factory=dict, hash=False)  # notebook cell index -> its source

    def with_changes(self, changes: dict) -> WorkerSettings:
        """These settings with ``changes`` (a request's, or the launcher's) applied; an unknown name is an error:
        the grader and the worker speak one vocabulary."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown worker setting(s): {', '.join(unknown)}")
        lists = {k: tuple(v) for k, v in changes.items() if k in ("preload", "watch") and v is not None}
        sources = {"sources": {int(k): v for k, v in changes["sources"].items()}} if "sources" in changes else {}
        return dataclasses.replace(self, **{**changes, **lists, **sources})

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> WorkerSettings:
        return cls().with_changes(json.loads(text or "{}"))
