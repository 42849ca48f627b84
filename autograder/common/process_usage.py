"""How much a process tree computed, and how long it waited to: the work a limit counts, not the clock.

A worker (and the notebook kernel and anything else it starts) is a tree of
processes. Its CPU time (user + system, of every thread, plus children already
reaped) says how much work it did; its run-queue wait (``schedstat``) says how
long its threads were ready to run but the machine ran something else. A call
that reaches the wall-clock safety net within its CPU limit was either starved
(it waited on the run queue: the machine was busy, not the student's fault) or
sleeping or blocked (it did not even ask for the CPU: the student's code waits
for something that will not come).

Linux only (``/proc``); elsewhere every reading is None and limits fall back to
the wall clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces and parentheses
    try:
        parent = int(fields[1])
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    except (IndexError, ValueError):
        return None
    return parent, (utime + stime + cutime + cstime) / TICKS


def _waited(pid: int) -> float:
    """Seconds the threads of ``pid`` spent ready to run but not running."""
    total = 0
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return 0.0
    for task in tasks:
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def descendants(root: int) -> dict[int, float]:
    """``root`` and every process below it, with their CPU seconds."""
    parents, cpu = {}, {}
    try:
        entries = [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]
    except OSError:
        return {}
    for pid in entries:
        stat = _stat(pid)
        if stat is not None:
            parents[pid], cpu[pid] = stat
    if root not in cpu:
        return {}
    tree, frontier = {root}, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return {pid: cpu[pid] for pid in tree}


@dataclass(frozen=True)
class Usage:
    cpu: float  # seconds computed
    waited: float  # seconds ready to run, not running


def tree_usage(root: int | None, pids: set[int] | None = None) -> Usage | None:
    """The tree's usage so far (``pids``: its processes as last listed, instead of listing them again); None where
    it cannot be read (no /proc, the process is gone)."""
    if root is None or not PROC.is_dir():
        return None
    if pids is None:
        tree = descendants(root)
    else:
        tree = {pid: stat[1] for pid in pids if (stat := _stat(pid)) is not None}
    if not tree or root not in tree:
        return None
    return Usage(sum(tree.values()), sum(_waited(pid) for pid in tree))


RESCAN_SECONDS = 2.0  # how often a clock lists the tree's processes again (listing reads every process's stat)


class TreeClock:
    """Usage of a process tree since the clock was made. Processes that end during the interval take their
    CPU time with them unless their parent reaps them (it then counts in the parent's children's time), so the
    reading never goes back: it keeps the largest seen. The tree's processes are listed every RESCAN_SECONDS,
    and between listings only theirs are read."""

    def __init__(self, root: int | None):
        import time

        self.root = root
        self._pids = set(descendants(root)) if root is not None and PROC.is_dir() else set()
        self._listed = time.monotonic()
        self.start = tree_usage(root, self._pids) if self._pids else None
        self._best = Usage(0.0, 0.0)

    @property
    def readable(self) -> bool:
        return self.start is not None

    def since(self) -> Usage | None:
        import time

        if self.start is None:
            return None
        if time.monotonic() - self._listed > RESCAN_SECONDS:
            self._pids, self._listed = set(descendants(self.root)) or self._pids, time.monotonic()
        now = tree_usage(self.root, self._pids)
        if now is None:
            return self._best
        used = Usage(max(self._best.cpu, now.cpu - self.start.cpu),
                     max(self._best.waited, now.waited - self.start.waited))
        self._best = used
        return used
