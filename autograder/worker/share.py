"""The worker's share of the machine and its seeds, in whichever process runs student code (the worker, its
notebook kernel, a script's interpreter)."""

from __future__ import annotations

import os

from ..common.settings import WorkerSettings


def use_share(settings: WorkerSettings) -> None:
    """The worker's share of the machine, in this process (the worker, or its notebook kernel): its torch
    threads, a lower priority than the grader's, and its part of the GPU's memory when workers share one."""
    import torch

    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(os.getpriority(os.PRIO_PROCESS, 0), settings.nice))
    except (OSError, ValueError):
        pass

    torch.set_num_threads(max(1, settings.threads))
    if settings.gpu_memory_fraction and torch.cuda.is_available():
        torch.cuda.set_per_process_memory_fraction(settings.gpu_memory_fraction)


def seed_everything(seed: int) -> None:
    """The same notebook gives the same results twice: Python's, NumPy's and torch's generators start seeded
    (a notebook that seeds them itself still does)."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
