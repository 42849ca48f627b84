"""What each worker is given when several submissions are graded at once: CPU threads, a share of the GPU.

torch runs OpenMP with as many threads as there are cores, and an idle OpenMP
thread spins: two such processes on one machine, or one beside anything busy,
slow each other down several times over (7x measured on 2 cores). So the cores
a grading may use are the cores free now (those this process may run on, within
its cgroup's quota, less what else is running: ``free_cores``), divided among
the concurrent workers, never more threads than that in all. Where the machine
then holds more runnable threads than cores, OpenMP threads sleep when they wait
(``OMP_WAIT_POLICY``); otherwise they spin as torch's do, which is much faster
for small models (one cpsc663-ex2 grading: 8.4 s spinning, 13.4 s passive, 2 threads).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

MEMORY_PER_WORKER = 2 * 1024**3  # bytes: a worker with torch imported and a brief training, with room to spare
MAX_THREADS = 8  # coursework models are small: more threads than this only add synchronisation
WORKERS_PER_GPU = 4  # brief training of coursework models leaves a GPU mostly idle; four share one well


def available_cores() -> int:
    """The cores this process may run on, within its cgroup's CPU quota."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        cores = max(1, os.cpu_count() or 1)
    quota = cgroup_quota()
    return max(1, min(cores, int(quota))) if quota else cores


def cgroup_quota() -> float | None:
    """Cores' worth of CPU time this process's cgroup may use (``cpu.max``, or v1's CFS quota); None: no quota."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return None
    for _, controllers, path in lines:
        if controllers == "":
            candidates = [(f"/sys/fs/cgroup{path.rstrip('/')}/cpu.max", None)]
        elif "cpu" in controllers.split(","):
            base = f"/sys/fs/cgroup/{controllers}{path.rstrip('/')}"
            candidates = [(f"{base}/cpu.cfs_quota_us", f"{base}/cpu.cfs_period_us"),
                          (f"/sys/fs/cgroup/cpu{path.rstrip('/')}/cpu.cfs_quota_us",
                           f"/sys/fs/cgroup/cpu{path.rstrip('/')}/cpu.cfs_period_us")]
        else:
            continue
        for quota_file, period_file in candidates:
            try:
                text = Path(quota_file).read_text().split()
                quota, period = (text[0], text[1]) if period_file is None else (text[0], Path(period_file).read_text())
            except (OSError, IndexError):
                continue
            if quota in ("max", "-1"):
                return None
            try:
                return max(0.01, int(quota) / int(period))
            except ValueError:
                return None
    return None


def running_elsewhere(samples: int = 5, interval: float = 0.04) -> float:
    """Threads running or ready to run on the machine now, other than this one: the median of a few readings
    of ``procs_running``; 0 where it cannot be read."""
    import statistics
    import time

    readings = []
    for _ in range(samples):
        try:
            with open("/proc/stat") as f:
                running = next((int(line.split()[1]) for line in f if line.startswith("procs_running")), None)
        except (OSError, ValueError):
            running = None
        if running is None:
            return 0.0
        readings.append(max(0, running - 1))
        time.sleep(interval)
    return float(statistics.median(readings))


def free_cores(cores: int | None = None, busy: float | None = None) -> int:
    """The cores a grading may use now: those available, less what else is running (at least one)."""
    cores = cores or available_cores()
    busy = running_elsewhere() if busy is None else busy
    return max(1, min(cores, round(cores - busy)))


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
        waits = ", OpenMP waiting passively" if self.passive_wait else ""
        return f"{self.jobs} at a time, {self.threads} thread{'s' * (self.threads != 1)} each{waits}{gpu}"


def default_jobs(device: str, cores: int | None = None, memory: int | None = None, gpus: int | None = None) -> int:
    """What the machine holds now: one worker per free core, as many as its memory allows; on GPUs, a few per
    GPU."""
    cores = cores or free_cores()
    memory = available_memory() if memory is None else memory
    jobs = cores
    if memory is not None:
        jobs = min(jobs, max(1, memory // MEMORY_PER_WORKER))
    gpus = gpu_count(device) if gpus is None else gpus
    if gpus:
        jobs = min(max(jobs, 1), WORKERS_PER_GPU * gpus)
    return max(1, jobs)


def share(jobs: int, device: str = "cpu", cores: int | None = None, gpus: int | None = None,
          busy: float | None = None) -> Share:
    """Divide the free cores (and GPUs) among ``jobs`` concurrent workers; their OpenMP threads wait passively
    when the machine would hold more runnable threads than cores (``busy``: threads running elsewhere now)."""
    cores = cores or available_cores()
    busy = running_elsewhere() if busy is None else busy
    jobs = max(1, int(jobs))
    threads = max(1, min(MAX_THREADS, free_cores(cores, busy) // jobs))
    gpus = gpu_count(device) if gpus is None else gpus
    fraction = None
    if gpus and jobs > gpus:
        per_gpu = -(-jobs // gpus)
        fraction = round(0.9 / per_gpu, 3)  # a tenth kept for the CUDA contexts themselves
    return Share(jobs, threads, fraction, passive_wait=jobs * threads + busy > cores, gpus=gpus)
