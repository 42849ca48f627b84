"""Kernel-enforced limits for one worker and everything it starts: a cgroup (v2, or v1's memory, pids, cpu).

Resource limits (``setrlimit``) are per process and the address-space one is not
applied on a GPU; a process group is left by any process that starts a new
session. A cgroup holds the worker and all its descendants however they detach:
their memory, their number of tasks and their CPU time (the worker's share of the
cores, so a batch's workers cannot crowd each other out) are limited together, and at the end
every process in it is killed. The grader makes one where the machine lets it
(as root, with a writable cgroup file system); elsewhere the rlimits and the
process-group kill remain, and ``describe`` says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

V1_CONTROLLERS = ("memory", "pids", "cpu")
PERIOD_US = 100_000


def _mounts() -> list[tuple[str, Path, set[str]]]:
    """(type, mount point, options) of every cgroup file system."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
                found.append((parts[2], Path(parts[1]), set(parts[3].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup in each hierarchy: controller name (or "" for v2) -> path."""
    paths = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                paths[controller] = path
    return paths


@dataclass
class Cgroup:
    folders: list[Path]  # v2: one folder; v1: one per controller
    version: int

    @classmethod
    def create(cls, *, memory_bytes: int, tasks: int, cpus: float | None = None) -> Cgroup | None:
        """A new cgroup with these limits (``cpus``: cores' worth of CPU time), or None where this process cannot
        make one."""
        if os.geteuid() != 0:
            return None
        name = f"autograder-{uuid.uuid4().hex[:12]}"
        return cls._create_v2(name, memory_bytes, tasks, cpus) or cls._create_v1(name, memory_bytes, tasks, cpus)

    @classmethod
    def _create_v2(cls, name: str, memory_bytes: int, tasks: int, cpus: float | None) -> Cgroup | None:
        own = _own_paths().get("", "/")
        for kind, mount, _ in _mounts():
            if kind != "cgroup2":
                continue
            parent = mount / own.lstrip("/")
            try:
                if not {"memory", "pids"} <= set((parent / "cgroup.subtree_control").read_text().split()):
                    continue
                folder = parent / name
                folder.mkdir()
            except OSError:
                continue
            try:
                (folder / "memory.max").write_text(str(memory_bytes))
                (folder / "pids.max").write_text(str(tasks))
                if cpus and (folder / "cpu.max").exists():
                    (folder / "cpu.max").write_text(f"{round(cpus * PERIOD_US)} {PERIOD_US}")
            except OSError:
                _rmdir(folder)
                continue
            return cls([folder], 2)
        return None

    @classmethod
    def _create_v1(cls, name: str, memory_bytes: int, tasks: int, cpus: float | None) -> Cgroup | None:
        own, mounts = _own_paths(), _mounts()
        folders = []
        try:
            for controller in V1_CONTROLLERS:
                mount = next((m for kind, m, options in mounts if kind == "cgroup" and controller in options), None)
                if mount is None:
                    if controller == "cpu":  # memory and tasks matter most; a CPU quota where there is one
                        continue
                    raise OSError(f"no {controller} hierarchy")
                folder = mount / own.get(controller, "/").lstrip("/") / name
                folder.mkdir()
                folders.append(folder)
                if controller == "memory":
                    (folder / "memory.limit_in_bytes").write_text(str(memory_bytes))
                elif controller == "pids":
                    (folder / "pids.max").write_text(str(tasks))
                elif cpus:
                    (folder / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                    (folder / "cpu.cfs_quota_us").write_text(str(round(cpus * PERIOD_US)))
        except OSError:
            for folder in folders:
                _rmdir(folder)
            return None
        return cls(folders, 1)

    def enter(self) -> None:
        """Move the calling process in (the child, before it runs the worker): what it starts stays in. Where
        the kernel refuses the move (a cgroup fs that lets folders be made but not processes moved), the worker
        runs without it: its rlimits and process group still apply."""
        for folder in self.folders:
            try:
                with open(folder / "cgroup.procs", "w") as f:
                    f.write(str(os.getpid()))
            except OSError:
                pass

    def pids(self) -> set[int]:
        found = set()
        for folder in self.folders:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
        return found

    def kill(self, seconds: float = 10.0) -> bool:
        """Kill every process in the cgroup; True once it is empty."""
        kill_file = self.folders[0] / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        deadline = time.monotonic() + seconds
        while (left := self.pids()) and time.monotonic() < deadline:
            for pid in left:  # new processes cannot outrun this for long: the task limit bounds them
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        return not self.pids()

    def remove(self) -> None:
        self.kill()
        for folder in self.folders:
            _rmdir(folder)


def _rmdir(folder: Path) -> None:
    for _ in range(50):  # a killed process leaves its cgroup a moment after it dies
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
