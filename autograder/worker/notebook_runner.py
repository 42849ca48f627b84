"""Execute a student's notebook in a real Jupyter kernel (nbclient), then let that kernel be the worker.

Runs in the worker process. The kernel is started from the worker's own
Python (``-s -P``: no user site, no current folder on the path), in the same
sandbox, holding the worker's channel file descriptors. Cells run one by one
with a per-cell and a whole-notebook limit counted in the kernel's CPU time
(seconds times the worker's threads; the wall clock, several times longer, is
only a safety net against a cell that sleeps); an error in one cell does not
stop the next. After the last cell the kernel is told to serve the grader
(``kernel.serve``): it answers the pending request with the execution report,
and every later one, with the notebook's definitions at hand. If the kernel
cannot take over, the worker answers itself and goes on without the notebook.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from ..common.settings import WorkerSettings

CEILING_FACTOR, CEILING_EXTRA = 5, 60  # the wall-clock safety net: seconds x factor + extra
STARTUP_SECONDS = 60
TRACEBACK_LINES = 3


def _kernel_manager(seed=None):
    """Jupyter's kernel manager for the notebook's kernel: forked from ``seed`` (``kernel_seed``) when the
    worker planted one, else started as a new interpreter."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    from .kernel_seed import seeded_provisioner

    manager = AsyncKernelManager(transport="ipc", ip=str(Path(tempfile.mkdtemp(prefix="kernel-")) / "ipc"))
    manager._kernel_spec = KernelSpec(
        argv=[sys.executable, "-s", "-P", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        display_name="Python (grader)", language="python",
    )  # fmt: skip
    if seed is not None:
        manager.provisioner = seeded_provisioner(manager, seed)
    return manager


def _error_summary(outputs: list) -> dict | None:
    for output in outputs:
        if output.get("output_type") == "error":
            lines = [line for line in output.get("traceback", []) if line.strip()]
            return {"ename": output.get("ename", ""), "evalue": str(output.get("evalue", ""))[:500],
                    "traceback": [_strip_ansi(line)[-300:] for line in lines[-TRACEBACK_LINES:]]}
    return None


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _cell_report(index: int, cell, seconds: float) -> dict:
    error = _error_summary(cell.get("outputs", []))
    status = "ok"
    if error and error["ename"] == "StopTraining":
        status = "training stopped"
    elif error and error["ename"] == "CellTimeout":
        status = "timeout"
    elif error:
        status = "error"
    first_line = next((line for line in cell.source.splitlines() if line.strip()), "")[:100]
    return {"index": index, "status": status, "error": error, "seconds": round(seconds, 2), "first_line": first_line}


class CellWatch:
    """Interrupts the kernel when a cell's CPU time passes its limit (a thread of the worker, one per cell)."""

    def __init__(self, pid: int | None, cpu_limit: float):
        import threading

        from ..common.process_usage import TreeClock

        self.pid, self.cpu_limit, self.fired = pid, cpu_limit, False
        self.clock = TreeClock(pid)
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        import signal

        while not self._stop.wait(0.25):
            used = self.clock.since()
            if used is None:
                return
            self.cpu = used.cpu
            if used.cpu > self.cpu_limit and not self.fired:
                self.fired = True
                try:
                    os.kill(self.pid, signal.SIGINT)
                except OSError:
                    return

    def stop(self) -> float:
        """The cell's CPU seconds."""
        self._stop.set()
        self._thread.join()
        used = self.clock.since()
        return used.cpu if used is not None else self.cpu


def _built_names(source: str) -> set[str]:
    """Names a cell builds at any depth: assigned (also in loops), augmented, or grown by a method call
    (``losses.append(...)``); not the modules it imports."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name):
            names.add(node.func.value.id)
    return names


def _imported_names(sources) -> set[str]:
    import ast

    names = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _free_names(source: str) -> set[str]:
    """Names a cell reads without binding them itself: what it takes from earlier cells."""
    import ast

    try:
        nodes = list(ast.walk(ast.parse(source)))
    except SyntaxError:
        return set()
    loaded = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    bound = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {n.arg for n in nodes if isinstance(n, ast.arg)}  # a function's own parameters
    bound |= {n.name for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return loaded - bound


def _blame_stopped_training(cells: list[dict], sources: dict[int, str]) -> None:
    """An error in a cell that uses what a stopped training cell was building (a model bound after its loop,
    a list of losses the loop was filling) is the grader's doing, not the student's: mark it so."""
    imported = _imported_names(sources.values())
    lost: set[str] = set()
    for cell in cells:
        if cell["status"] == "training stopped":
            lost |= _built_names(sources[cell["index"]]) - imported
        elif cell["status"] == "error" and lost & _free_names(sources[cell["index"]]):
            cell["status"] = "after stopped training"


def run_and_hand_over(path: Path, request_fd: int, reply_fd: int, settings: WorkerSettings, seed=None):
    """Run the notebook at ``path`` (in a kernel forked from ``seed``, if given). Returns
    ``(None, kernel_process)`` once the kernel serves the channel, or ``(reply, None)``: a reply for the worker
    to send itself when the notebook could not run."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - the trusted side validated it; report anything odd
        return {"ok": True, "notebook": {"ran": False, "problem": f"unreadable: {error}"[:500]}}, None
    settings = settings.with_changes({"sources": {i: c.source for i, c in enumerate(notebook.cells)
                                                  if c.cell_type == "code"}})
    setup = nbformat.v4.new_code_cell(
        "import autograder.worker.kernel as _grader, autograder.common.settings as _settings; "
        f"_grader.install(_settings.WorkerSettings.from_json({settings.to_json()!r}))"
    )
    run = nbformat.v4.new_notebook(cells=[setup, *notebook.cells], metadata=notebook.metadata)

    cell_seconds = settings.cell_seconds
    threads = max(1, settings.threads)

    def started_client(seed):
        client = NotebookClient(
            run, km=_kernel_manager(seed), timeout=max(cell_seconds * CEILING_FACTOR, cell_seconds * threads)
            + CEILING_EXTRA, allow_errors=True,
            interrupt_on_timeout=True, record_timing=False, startup_timeout=STARTUP_SECONDS,
            error_on_timeout={"ename": "CellTimeout", "evalue": "the cell did not finish within the time limit",
                              "traceback": []},
            resources={"metadata": {"path": str(Path.cwd())}},
        )  # fmt: skip
        try:
            client.start_new_kernel(pass_fds=(request_fd, reply_fd))
            client.start_new_kernel_client()
        except Exception:
            _shutdown(client)
            if seed is None:
                raise
            return started_client(None)  # the forked kernel did not come up: a new interpreter, as Jupyter starts
        return client

    cells, started, computed = [], time.monotonic(), 0.0
    budget = settings.notebook_seconds
    client = None
    try:
        client = started_client(seed)
        client.execute_cell(setup, 0)
        if _error_summary(setup.outputs):
            raise RuntimeError(f"the grader's kernel set-up failed: {_error_summary(setup.outputs)}")
        for index, cell in enumerate(run.cells[1:]):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            wall_ceiling = max(budget * CEILING_FACTOR, budget * threads) + CEILING_EXTRA
            if computed > budget * threads or time.monotonic() - started > wall_ceiling:
                cells.append({"index": index, "status": "not run", "error": None, "seconds": 0,
                              "first_line": cell.source.strip().splitlines()[0][:100]})
                continue
            cell_started = time.monotonic()
            watch = CellWatch(getattr(client.km.provisioner.process, "pid", None), cell_seconds * threads)
            try:
                client.execute_cell(cell, index + 1)
            finally:
                cpu = watch.stop()
            computed += cpu
            report = _cell_report(index, cell, time.monotonic() - cell_started)
            report["cpu_seconds"] = round(cpu, 2)
            if watch.fired and report["status"] == "error":
                report["status"] = "timeout"
            cells.append(report)
    except DeadKernelError:
        _shutdown(client)
        return {"ok": True, "notebook": {"ran": False, "cells": cells,
                                         "problem": "the kernel died while running the notebook"}}, None
    except Exception as error:  # noqa: BLE001 - anything else stops the notebook, not the grading
        _shutdown(client)
        return {"ok": True, "notebook": {"ran": False, "cells": cells, "problem": str(error)[:500]}}, None
    _blame_stopped_training(cells, {i: c.source for i, c in enumerate(notebook.cells)})
    pending = {"ok": True, "notebook": {"ran": True, "cells": cells, "seconds": round(time.monotonic() - started, 2)}}
    client.kc.execute(
        f"_grader.serve({request_fd}, {reply_fd}, {path.name!r}, __import__('json').loads({json.dumps(pending)!r}),"
        f" _settings.WorkerSettings.from_json({settings.to_json()!r}))"
    )
    return None, client.km.provisioner.process


def _shutdown(client) -> None:
    if client is None:
        return
    try:
        client._cleanup_kernel()
    except Exception:  # noqa: BLE001
        pass


def wait_for_kernel(process, request_fd: int, reply_fd: int) -> None:
    """After the hand-over the worker lets go of the channel and waits for the kernel to end; its own end
    (or its kill) ends the kernel too."""
    for fd in (request_fd, reply_fd):
        os.close(fd)
    process.wait()
