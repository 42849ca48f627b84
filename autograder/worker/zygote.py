"""A warm template worker: ``python -m autograder.worker.zygote CONTROL_FD``, in the sandbox.

It imports what student code needs (torch, torchvision, Keras, the notebook
machinery) once, then forks one worker per submission, so that a submission
pays no interpreter or torch start-up. Each worker is a fresh process: it
drops to the unprivileged uid, copies the submission from ``/submission-src``
(which the grader fills before each fork) and serves exactly as a worker
started cold does (``__main__.serve_submission``).

The template stays root inside the sandbox and never runs student code. When a
worker's grading ends (or the grader asks), the template kills every other
process of its PID namespace, however detached (``kill(-1)``: only the
namespace's init and the template itself are spared), and has the folder the
student's code ran in emptied by a process with the student's uid: nothing
the submission did reaches the next one. The grader uses a template only
where this holds: under bubblewrap with a uid drop (``host/warm.py``).

Control messages are one JSON object per datagram on a ``SOCK_SEQPACKET``
socket; a fork request carries the worker's three channel descriptors.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import resource
import select
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from ..common.folders import empty
from ..common.settings import WorkerSettings
from .__main__ import drop_privileges, serve_submission

MESSAGE_BYTES = 1 << 20
KILL_SECONDS = 10.0
PR_SET_DUMPABLE = 4


def preload(modules: list[str]) -> list[str]:
    """Import what workers will need; returns those that could not be imported (they load cold in the worker).
    Nothing here may start threads or touch a GPU: a forked child would inherit them half-made."""
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a package missing here is imported (or not) by the worker itself
            failed.append(name)
    return failed


def others_alive() -> list[int]:
    """Every process of this PID namespace but its init (1) and this template."""
    me = os.getpid()
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) not in (1, me)]


def kill_everything_else(seconds: float = KILL_SECONDS) -> bool:
    """SIGKILL every process in the namespace but init and this one, until none is left; True when none is."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(-1, signal.SIGKILL)
        reap()
        if not others_alive():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)


def reap() -> dict[int, int]:
    """Collect every child that has ended: pid -> exit code (negative: killed by that signal)."""
    ended = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended[pid] = os.waitstatus_to_exitcode(status)


def empty_folder(folder: Path, uid: int | None) -> bool:
    """Remove everything in ``folder``, as the student's uid (whose files they are), in a child process."""
    pid = os.fork()
    if pid == 0:
        emptied = False
        try:
            if uid is not None and os.geteuid() == 0:
                drop_privileges(uid)
            emptied = empty(folder)
        finally:
            os._exit(0 if emptied else 1)
    deadline = time.monotonic() + KILL_SECONDS
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


def become_worker(control: socket.socket, fds: list[int], env: dict, settings: WorkerSettings) -> None:
    """In the forked child: the worker of one submission; never returns."""
    code = 1
    try:
        control.close()
        request_fd, reply_fd, output_fd = fds
        os.setsid()
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(number, signal.SIG_DFL)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        os.environ.clear()
        os.environ.update({**env, "HOME": str(Path.cwd())})
        tempfile.tempdir = None  # chosen again, as the student's uid
        if settings.drop_uid is not None and settings.processes:
            limit = int(settings.processes)
            resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
        code = serve_submission(request_fd, reply_fd, settings)
    except BaseException:  # noqa: BLE001 - reported on the worker's stderr, which the grader keeps
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def send(control: socket.socket, message: dict) -> None:
    control.send(json.dumps(message).encode())


def main() -> int:
    control = socket.socket(fileno=int(sys.argv[1]))
    settings = WorkerSettings.from_json(os.environ.get("AUTOGRADER_WORKER_SETTINGS"))
    with contextlib.suppress(OSError, AttributeError):  # the student's uid cannot read this process's memory
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    started = time.monotonic()
    workdir = Path.cwd()
    # What importing writes in a home (Keras's config, Matplotlib's font cache) goes to the template's own, which
    # its workers can read and not change; the folder they run in stays empty.
    home = Path(tempfile.mkdtemp(prefix="template-home-"))
    home.chmod(0o755)
    os.environ["HOME"] = str(home)
    failed = preload(list(settings.preload))
    uid = settings.drop_uid
    send(control, {"ready": True, "pid": os.getpid(), "seconds": round(time.monotonic() - started, 2),
                   "not_preloaded": failed})
    worker: int | None = None
    while True:
        readable, _, _ = select.select([control], [], [], 0.05)
        for pid, code in reap().items():
            if pid == worker:
                send(control, {"exited": code})
                worker = None
        if not readable:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, 3)
        except OSError:
            data, fds = b"", []
        if not data:  # the grader is gone
            kill_everything_else()
            return 0
        request = json.loads(data)
        if request.get("op") == "fork" and worker is None and len(fds) == 3:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                become_worker(control, fds, request.get("env", {}), settings)
            for fd in fds:
                os.close(fd)
            worker = pid
            send(control, {"forked": pid})
        elif request.get("op") == "clean":
            for fd in fds:
                os.close(fd)
            killed = kill_everything_else()
            if worker is not None:
                send(control, {"exited": -signal.SIGKILL})
                worker = None
            emptied = empty_folder(workdir, uid)
            send(control, {"clean": killed and emptied, "left": len(others_alive())})
        elif request.get("op") == "exit":
            kill_everything_else()
            return 0
        else:
            for fd in fds:
                os.close(fd)
            send(control, {"error": f"cannot {request.get('op')!r} now"})


if __name__ == "__main__":
    sys.exit(main())
