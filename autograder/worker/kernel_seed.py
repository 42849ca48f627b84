"""A notebook's Jupyter kernel forked from the worker, instead of started as a new interpreter.

A kernel started with ``python -m ipykernel_launcher`` pays an interpreter, and
then the notebook's first ``import torch`` (and Keras): about 3 s per notebook,
every time. The worker has all that imported already. So, when its submission
holds a notebook, the worker forks a *seed* as soon as it starts: before any
student code or any torch computation has run (a process that forks after
OpenMP has worked hangs in its next parallel loop). The seed holds nothing of
the grader's channel and waits on a socket. When the notebook is to run,
Jupyter's kernel manager launches the kernel through ``SeedProvisioner``: the
seed receives the connection file, the environment and the channel's
descriptors, and becomes the kernel (``IPKernelApp``) in the same sandbox, as
the same uid, with the same limits. A seed that is never used ends when the
worker closes its socket or dies.

Runs in the worker (and the seed): the untrusted side.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import sys
from pathlib import Path

MESSAGE_BYTES = 1 << 20
PR_SET_PDEATHSIG = 1


class SeedProcess:
    """The kernel manager's handle on the forked kernel: what it uses of ``subprocess.Popen``."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def _reap(self, options: int) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, options)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL  # reaped elsewhere: gone, how is not known
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> int | None:
        return self._reap(os.WNOHANG)

    def wait(self, timeout: float | None = None) -> int | None:
        return self._reap(0)

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Seed:
    """The worker's end of a forked seed."""

    def __init__(self, pid: int, sock: socket.socket):
        self.process = SeedProcess(pid)
        self.sock: socket.socket | None = sock

    def launch(self, argv: list[str], env: dict, cwd: str, channel: tuple[int, ...]) -> SeedProcess | None:
        """Make the seed the kernel, started with ``argv`` (ipykernel's arguments: ``-f CONNECTION_FILE ...``);
        None if it cannot be (it died, or was used already)."""
        if self.sock is None or self.process.poll() is not None:
            return None
        env = {**env, "JPY_PARENT_PID": str(os.getpid())}  # as Jupyter's launcher sets it: the kernel's parent
        message = json.dumps({"argv": argv, "env": env, "cwd": cwd, "channel": list(channel)})
        try:
            socket.send_fds(self.sock, [message.encode()], list(channel))
        except OSError:
            return None
        finally:
            self.sock.close()
            self.sock = None
        return self.process

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def die_with_parent() -> None:
    """Be killed when the process that forked or started this one ends (Linux's parent-death signal)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def plant() -> Seed | None:
    """Fork the seed; call it before any student code and any torch computation runs in this process."""
    parent_end, seed_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    worker = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:  # the process limit: the kernel will be started as a new interpreter
        parent_end.close()
        seed_end.close()
        return None
    if pid == 0:
        parent_end.close()
        _grow(seed_end, worker)
    seed_end.close()
    return Seed(pid, parent_end)


def _grow(sock: socket.socket, worker: int) -> None:
    """In the seed: wait to be launched, then become the kernel; never returns."""
    code = 0
    try:
        os.setsid()  # the kernel manager interrupts a cell by signalling the kernel's process group
        die_with_parent()
        if os.getppid() != worker:
            return  # it ended before the line above
        _close_inherited(sock.fileno())
        try:
            data, fds, _, _ = socket.recv_fds(sock, MESSAGE_BYTES, 8)
        except OSError:
            data, fds = b"", []
        sock.close()
        if not data:
            return  # the worker went on without a notebook
        launch = json.loads(data)
        _put_in_place(fds, launch["channel"])
        os.environ.update(launch["env"])
        os.chdir(launch["cwd"])
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGALRM):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import importlib.util

        from ipykernel.kernelapp import IPKernelApp

        sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *launch["argv"]]  # as the launcher's
        IPKernelApp.launch_instance(argv=launch["argv"], parent_handle=int(launch["env"]["JPY_PARENT_PID"]))
    except BaseException:  # noqa: BLE001 - reported on the worker's stderr, which the grader keeps
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _close_inherited(keep: int) -> None:
    """Let go of every descriptor the worker held but the standard streams and the seed's socket: in
    particular the grader's channel, which the seed receives again only if it becomes the kernel."""
    os.closerange(3, keep)
    os.closerange(keep + 1, max(keep + 1, os.sysconf("SC_OPEN_MAX")))


def _put_in_place(received: list[int], numbers: list[int]) -> None:
    """Give the channel's descriptors, received at the lowest free numbers, the numbers the kernel is told. Each is
    first moved above all of those numbers, so that placing one never overwrites another still to be placed."""
    floor = max(numbers, default=2) + 1
    moved = []
    for fd in received:
        moved.append(fcntl.fcntl(fd, fcntl.F_DUPFD, floor))
        os.close(fd)
    for fd, number in zip(moved, numbers, strict=True):
        os.dup2(fd, number)
        os.close(fd)


def seeded_provisioner(manager, seed: Seed):
    """A Jupyter kernel provisioner for ``manager`` that launches its kernel by handing ``seed`` the manager's
    connection file; if the seed is gone, it starts a new interpreter as Jupyter's own provisioner does."""
    import uuid

    from jupyter_client.provisioning import LocalProvisioner

    class SeedProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd: list[str], **kwargs):
            cwd = kwargs.get("cwd") or Path.cwd()
            argv = cmd[cmd.index("ipykernel_launcher") + 1:] if "ipykernel_launcher" in cmd else None
            process = None if argv is None else seed.launch(argv, dict(kwargs.get("env") or os.environ), str(cwd),
                                                            tuple(kwargs.get("pass_fds") or ()))
            if process is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process, self.pid, self.pgid, self.cwd = process, process.pid, process.pid, cwd
            return self.connection_info

    manager.kernel_id = str(uuid.uuid4())
    return SeedProvisioner(kernel_id=manager.kernel_id, kernel_spec=manager.kernel_spec, parent=manager)
