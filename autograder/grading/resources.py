"""What each worker is given when several submissions are graded at once: CPU threads, a share of the GPU.

torch runs OpenMP with as many threads as there are cores, and an idle OpenMP
thread spins: two such processes on one machine, or one beside anything busy,
slow each other down several times over (7x measured on 2 cores). So the cores
are divided among the concurrent workers, never more threads than cores in
all. Where there are more workers than cores, their OpenMP threads sleep when they
wait (``OMP_WAIT_POLICY``); otherwise they spin as torch's do, which is much faster
for small models (one cpsc663-ex2 grading: 8.4 s spinning, 13.4 s passive, 2 threads).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

MEMORY_PER_WORKER = 2 * 1024**3  # bytes: a worker with torch imported and a brief training, with room to spare
MAX_THREADS = 8  # coursework models are small: more threads than this only add synchronisation
WORKERS_PER_GPU = 4  # brief training of coursework models leaves a GPU mostly idle; four share one well


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def available_memory() -> int | None:
    """Bytes the machine can still give (``MemAvailable``), or None where that cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def gpu_count(device: str) -> int:
    if not device.startswith("cuda"):
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@dataclass(frozen=True)
class Share:
    """What one of ``jobs`` concurrent workers gets."""

    jobs: int
    threads: int  # torch and OpenMP threads of each worker
    gpu_memory_fraction: float | None = None  # of its GPU's memory, when workers share one
    slot: int = 0  # which of the ``jobs``: its own unprivileged uid, its GPU when there are several
    passive_wait: bool = False  # more workers than cores: waiting OpenMP threads sleep rather than spin
    gpus: int = 0  # GPUs the workers share

    @property
    def gpu(self) -> int | None:
        """The GPU this slot's worker uses when there are several (slots take them in turn), else None."""
        return self.slot % self.gpus if self.gpus > 1 else None

    @property
    def cpus(self) -> float | None:
        """The CPU time each worker may take when several share the machine (None: one worker, no quota)."""
        return float(self.threads) if self.jobs > 1 else None

    def for_slot(self, slot: int) -> Share:
        return dataclasses.replace(self, slot=slot)

    def describe(self) -> str:
        gpu = f", {self.gpu_memory_fraction:.0%} of a GPU's memory each" if self.gpu_memory_fraction else ""
        gpu += f", on {self.gpus} GPUs in turn" if self.gpus > 1 else ""
        return f"{self.jobs} at a time, {self.threads} thread{'s' * (self.threads != 1)} each{gpu}"


def default_jobs(device: str, cores: int | None = None, memory: int | None = None, gpus: int | None = None) -> int:
    """What the machine holds: one worker per core, as many as its memory allows; on GPUs, a few per GPU."""
    cores = cores or available_cores()
    memory = available_memory() if memory is None else memory
    jobs = cores
    if memory is not None:
        jobs = min(jobs, max(1, memory // MEMORY_PER_WORKER))
    gpus = gpu_count(device) if gpus is None else gpus
    if gpus:
        jobs = min(max(jobs, 1), WORKERS_PER_GPU * gpus)
    return max(1, jobs)


def share(jobs: int, device: str = "cpu", cores: int | None = None, gpus: int | None = None) -> Share:
    """Divide the cores (and GPUs) among ``jobs`` concurrent workers."""
    cores = cores or available_cores()
    jobs = max(1, int(jobs))
    threads = max(1, min(MAX_THREADS, cores // jobs))
    gpus = gpu_count(device) if gpus is None else gpus
    fraction = None
    if gpus and jobs > gpus:
        per_gpu = -(-jobs // gpus)
        fraction = round(0.9 / per_gpu, 3)  # a tenth kept for the CUDA contexts themselves
    return Share(jobs, threads, fraction, passive_wait=jobs > cores, gpus=gpus)
