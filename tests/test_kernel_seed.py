"""A notebook's kernel forked from the worker's seed (worker/kernel_seed.py), not started as a new interpreter.

The seed must be planted before the process computes anything with torch (a fork after OpenMP has
worked hangs), so each case runs in a fresh Python process, as a worker does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    import torch
    from autograder.worker import kernel_seed
    # The grader's channel, which the seed must not hold, at the numbers a warm template's worker has (4 and 5,
    # 3 being the template's control socket): the seed receives them at 3 and 4, so placing the first at 4
    # must not overwrite the second.
    held_by_template = os.open(os.devnull, os.O_RDONLY)
    channel = os.pipe()
    assert (held_by_template, *channel) == (3, 4, 5), (held_by_template, channel)
    seed = kernel_seed.plant()
    case = sys.argv[1]
    out = {}
    if case == "unused":
        deadline = time.monotonic() + 20  # the seed lets go of what it inherited first thing
        while time.monotonic() < deadline:
            held = [int(n) for n in os.listdir(f"/proc/{seed.process.pid}/fd")]
            if not any(fd in held for fd in channel):
                break
            time.sleep(0.05)
        out["seed_holds_channel"] = any(fd in held for fd in channel)
        seed.close()
        deadline = time.monotonic() + 20
        while seed.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        out["seed_ended"] = seed.process.returncode
    else:
        import nbformat
        from nbclient import NotebookClient
        from autograder.worker.notebook_runner import _kernel_manager
        if case == "seed-gone":
            seed.process.kill()
            seed.process.wait()
        torch.ones(512, 512) @ torch.ones(512, 512)  # OpenMP at work in the worker: the seed was forked before
        cells = [nbformat.v4.new_code_cell(source) for source in (
            "forked = b'-m\\\\x00ipykernel_launcher' not in open('/proc/self/cmdline', 'rb').read()\\n"
            "import os; print(forked, os.getpgid(0) == os.getpid(), os.read(%d, 5).decode())\\n"
            "os.write(%d, b'back'); import sys, IPython\\n"
            "print(sys.argv[0].endswith('ipykernel_launcher.py'), IPython.get_ipython().history_manager.hist_file)"
            % channel,
            "while True: pass",
            "import torch; print(float((torch.ones(300, 300) @ torch.ones(300, 300)).sum()))",
        )]
        client = NotebookClient(nbformat.v4.new_notebook(cells=cells), km=_kernel_manager(seed),
                                # 3 s for the endless loop; a fresh kernel importing torch may take long when busy
                                timeout_func=lambda cell: 3 if 'while True' in cell.source else 120,
                                allow_errors=True, interrupt_on_timeout=True, startup_timeout=60)
        os.write(channel[1], b"hello")
        started = time.monotonic()
        client.start_new_kernel(pass_fds=channel)
        client.start_new_kernel_client()
        out["started_seconds"] = time.monotonic() - started
        for index, cell in enumerate(cells):
            client.execute_cell(cell, index)
        out["outputs"] = [[o.get("text", o.get("ename", "")).strip() for o in cell.outputs] for cell in cells]
        out["channel_back"] = os.read(channel[0], 4).decode()
        out["kernel_pid_is_seed"] = client.km.provisioner.process.pid == seed.process.pid
        client._cleanup_kernel()
    print(json.dumps(out))
''')


def _run(case: str) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, case], capture_output=True, text=True, cwd=ROOT,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def forked():
    return _run("forked")


def test_the_kernel_is_the_forked_seed_and_gets_the_channel_it_is_handed(forked):
    assert forked["kernel_pid_is_seed"]
    # forked, its own process group, the channel's data both ways, the launcher's argv and nbclient's arguments
    assert forked["outputs"][0] == ["True True hello\nTrue :memory:"]
    assert forked["channel_back"] == "back"


def test_a_cell_over_its_time_limit_is_interrupted_in_a_forked_kernel_and_the_next_cell_runs(forked):
    assert forked["outputs"][1] == ["KeyboardInterrupt"]
    assert forked["outputs"][2] == ["27000000.0"]  # torch computes in the kernel though the worker used OpenMP


@pytest.mark.slow  # 7-9 s (a new interpreter imports torch): the fallback path, in the full tier (tox -e full)
def test_without_its_seed_the_kernel_starts_as_a_new_interpreter():
    gone = _run("seed-gone")
    assert not gone["kernel_pid_is_seed"]
    assert gone["outputs"][0] == ["False True hello\nTrue :memory:"]
    assert gone["channel_back"] == "back"
    assert gone["outputs"][2] == ["27000000.0"]


def test_an_unused_seed_holds_nothing_of_the_channel_and_ends_with_its_socket():
    unused = _run("unused")
    assert unused == {"seed_holds_channel": False, "seed_ended": 0}

