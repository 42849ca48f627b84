"""Warm workers: forked from a template that imported torch once, each as isolated as a worker started cold."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograder.host.client import Worker, WorkerSettings
from autograder.host.sandbox import Launcher, bwrap_path
from autograder.host.warm import ForkedProcess, WarmWorkers

MARKER = "leftover-of-submission-a"

# Submission A, at import: a file and an unreadable folder where it runs, a detached process (a new session,
# double-forked), a change to torch itself, and an environment variable.
LEAVES_THINGS_BEHIND = f"""
import os, subprocess, sys, torch
open("leftover.txt", "w").write("from A")
os.makedirs("locked/inner", exist_ok=True)
open("locked/inner/f", "w").write("x")
os.chmod("locked/inner", 0)
os.chmod("locked", 0)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{MARKER}"], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
torch.LEFTOVER = 1
torch.nn.functional.mse_loss = lambda *a, **k: torch.tensor(0.0)
os.environ["LEFTOVER"] = "1"
DONE = 1
"""

# Submission B, at import: what it finds of A.
LOOKS_FOR_THEM = """
import os, torch
FILES = len(os.listdir("."))  # its own probe.py only
TORCH_CHANGED = int(hasattr(torch, "LEFTOVER"))
MSE = float(torch.nn.functional.mse_loss(torch.ones(3), torch.zeros(3)))
ENV = int("LEFTOVER" in os.environ)
OTHERS = len([p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())])
"""


def warm_applies() -> str | None:
    if bwrap_path() is None:
        return "warm workers need bubblewrap (a PID namespace to empty)"
    if Launcher().drop_uid is None:
        return "warm workers need the worker's uid dropped (the grader runs as root)"
    return None


needs_warm = pytest.mark.skipif(warm_applies() is not None, reason=str(warm_applies()))


def _student(tmp_path: Path, name: str, source: str) -> Path:
    folder = tmp_path / name
    folder.mkdir(mode=0o755)
    (folder / "probe.py").write_text(source)
    (folder / "probe.py").chmod(0o644)
    return folder


def _values(worker: Worker, names: list[str]) -> dict:
    header, _ = worker.call("values", "reading", 120, file="probe.py", names=names)
    assert header["ok"] and header["import"]["error"] is None, header
    return {name: header["values"][name]["value"] for name in names}


def _host_processes_named(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


@needs_warm
def test_nothing_a_submission_leaves_reaches_the_next_worker_of_the_same_template(tmp_path):
    a = _student(tmp_path, "a", LEAVES_THINGS_BEHIND)
    b = _student(tmp_path, "b", LOOKS_FOR_THEM)
    with WarmWorkers() as warm:
        first = Worker(a, WorkerSettings(), warm=warm)
        assert _values(first, ["DONE"]) == {"DONE": 1.0}
        assert isinstance(first.process, ForkedProcess), "the worker was not forked from the template"
        deadline = time.monotonic() + 10
        while not _host_processes_named(MARKER) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _host_processes_named(MARKER), "the detached process did not start: the test proves nothing"
        first.close()
        assert _host_processes_named(MARKER) == [], "a detached process outlived its submission"

        second = Worker(b, WorkerSettings(), warm=warm)
        found = _values(second, ["FILES", "TORCH_CHANGED", "MSE", "ENV", "OTHERS"])
        template = second.template
        second.close()
    assert found == {"FILES": 1.0, "TORCH_CHANGED": 0.0, "MSE": 1.0, "ENV": 0.0, "OTHERS": 0.0}
    assert (template.starts, template.forks) == (1, 2)  # one template, both workers forked from it


@pytest.mark.slow  # over 10 s: the full tier (tox -e full)
@needs_warm
def test_a_template_that_died_is_replaced_and_the_worker_still_answers(tmp_path):
    b = _student(tmp_path, "b", LOOKS_FOR_THEM)
    with WarmWorkers() as warm:
        first = Worker(b, WorkerSettings(), warm=warm)
        assert _values(first, ["ENV"]) == {"ENV": 0.0}
        first.close()
        os.killpg(first.template.process.pid, signal.SIGKILL)  # the template and its sandbox, gone
        first.template.process.wait()
        second = Worker(b, WorkerSettings(), warm=warm)
        assert _values(second, ["ENV"]) == {"ENV": 0.0}
        assert isinstance(second.process, ForkedProcess)
        second.close()
        assert second.template.starts == 2


@needs_warm
def test_a_worker_that_crashes_is_restarted_from_the_template(tmp_path):
    crash = _student(tmp_path, "crash", "import os\nos._exit(3)\n")
    with WarmWorkers() as warm:
        worker = Worker(crash, WorkerSettings(), warm=warm)
        with pytest.raises(Exception, match="exited with code 3"):
            _values(worker, ["X"])
        (crash / "probe.py").write_text("X = 2\n")
        assert _values(worker, ["X"]) == {"X": 2.0}
        worker.close()
        assert worker.template.forks == 2


def test_templates_are_used_only_where_a_worker_can_be_cleaned_up_completely():
    """No PID namespace (no bubblewrap), or the worker keeps the template's uid: every worker starts cold."""
    settings, env = WorkerSettings(), {"AUTOGRADER_WORKER_SETTINGS": "{}"}
    with WarmWorkers() as warm:
        assert warm.for_worker(settings, SimpleNamespace(bwrap=None, drop_uid=65534), env) is None
        assert warm.for_worker(settings, SimpleNamespace(bwrap="/usr/bin/bwrap", drop_uid=None), env) is None
        if warm_applies() is None:
            assert warm.for_worker(settings, Launcher(), env) is not None


def test_a_replaced_function_is_replaced_in_the_modules_already_imported_that_re_export_it(monkeypatch):
    """keras.datasets.mnist re-exports keras.src.datasets.mnist.load_data: in a worker forked from a warm template
    both are imported before the grader redirects it to the local copy."""
    import types

    from autograder.worker.importer import replace_function

    def original():
        return "download"

    source, public, unrelated = (types.ModuleType(n) for n in ("grader_src_mnist", "grader_mnist", "grader_other"))
    source.load_data = public.load_data = original
    unrelated.load_data = len
    for module in (source, public, unrelated):
        monkeypatch.setitem(sys.modules, module.__name__, module)
    replace_function(source, "load_data", lambda: "local copy")
    assert source.load_data() == public.load_data() == "local copy"
    assert unrelated.load_data is len
