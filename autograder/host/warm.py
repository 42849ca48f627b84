"""Warm workers, the trusted side: a template process per concurrent slot, forked for each submission.

Starting a worker cold costs an interpreter and an import of torch (and, for
notebooks, of Keras and Jupyter's machinery): seconds per submission, and
most of the memory traffic of a batch. A template (``worker/zygote.py``)
imports all that once, inside the same sandbox a cold worker gets, and forks a
fresh worker per submission. The grader copies the submission into the
template's inbox (bound read-only at ``/submission-src``) before each fork, and
after each worker asks the template to kill everything else in its PID
namespace and empty the folder the student's code ran in; a template that
cannot say it did is killed whole, and the next submission gets a new one.

Templates are used only where that cleaning is complete: under bubblewrap (a
PID namespace of its own) with the worker dropped to an unprivileged uid (which
can neither signal the template nor read its memory, and can write nowhere but
the emptied folder). Elsewhere every worker starts cold, as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ..common.folders import empty
from ..common.settings import WorkerSettings

MESSAGE_BYTES = 64 * 1024
READY_SECONDS = 180.0  # importing torch, torchvision, Keras and Jupyter's machinery on a busy machine
ANSWER_SECONDS = 30.0
CLEAN_SECONDS = 30.0
STARTS = 3  # a template that fails to start this many times is not tried again: workers start cold

# What a worker may need, imported once by the template (in this order: Keras after torch).
PRELOAD = ("numpy", "torch", "torchvision", "autograder.worker.serving", "autograder.worker.importer",
           "autograder.worker.kernel", "autograder.worker.notebook_runner", "autograder.worker.keras_support",
           "nbformat", "nbclient", "jupyter_client", "keras")
NOT_ON_GPU = ("keras",)  # Keras asks CUDA for its devices when imported: a forked child could not use CUDA then


class ForkedProcess:
    """The grader's handle on a worker forked by a template: ``poll`` and ``wait`` as ``subprocess.Popen``'s."""

    def __init__(self, pid: int):
        self.pid = pid  # in the sandbox's PID namespace
        self.returncode: int | None = None
        self._ended = threading.Event()

    def end(self, returncode: int | None) -> None:
        if not self._ended.is_set():
            self.returncode = returncode
            self._ended.set()

    def poll(self) -> int | None:
        return self.returncode if self._ended.is_set() else None

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired("worker", timeout)
        return self.returncode


class Zygote:
    """One template worker, for one slot's workers (same settings, same uid)."""

    def __init__(self, launcher, environment: dict[str, str]):
        self.launcher = launcher
        self.environment = environment
        self.inbox = Path(tempfile.mkdtemp(prefix="autograder-inbox-"))
        self.inbox.chmod(0o755)  # read by the unprivileged worker through the sandbox's read-only bind
        self.process = None
        self.control: socket.socket | None = None
        self.current: ForkedProcess | None = None
        self.replies: queue.SimpleQueue = queue.SimpleQueue()
        self.starts = self.failures = self.forks = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------ the template

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.control is not None

    @property
    def usable(self) -> bool:
        return self.failures < STARTS

    def start(self) -> bool:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        settings = WorkerSettings.from_json(self.environment["AUTOGRADER_WORKER_SETTINGS"])
        on_gpu = settings.device.startswith("cuda")
        settings = settings.with_changes({"preload": [m for m in PRELOAD if not (on_gpu and m in NOT_ON_GPU)]})
        env = {**self.environment, "AUTOGRADER_WORKER_SETTINGS": settings.to_json()}
        if on_gpu:  # should anything ask whether CUDA is there, NVML answers: CUDA stays uninitialised until a fork
            env["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"
        command = [sys.executable, "-s", "-P", "-m", "autograder.worker.zygote", str(theirs.fileno())]
        self.starts += 1
        try:
            self.process = self.launcher.popen(command, cwd=self.inbox, env=env, pass_fds=(theirs.fileno(),),
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            self.failures += 1
            ours.close()
            return False
        finally:
            theirs.close()
        self.control = ours
        self.replies = queue.SimpleQueue()
        threading.Thread(target=self._listen, args=(ours, self.replies), daemon=True).start()
        if not self._reply(READY_SECONDS).get("ready"):
            self._kill()
            self.failures += 1
            return False
        return True

    def _listen(self, control: socket.socket, replies: queue.SimpleQueue) -> None:
        """Read the template's messages: a worker's end goes to its handle, anything else to ``replies``."""
        while True:
            try:
                data = control.recv(MESSAGE_BYTES)
                message = json.loads(data) if data else None
            except (OSError, ValueError):
                message = None
            if not isinstance(message, dict):
                if self.current is not None:
                    self.current.end(None)
                replies.put({})
                return
            if "exited" in message:
                if self.current is not None:
                    code = message["exited"]
                    self.current.end(code if isinstance(code, int) else None)
            else:
                replies.put(message)

    def _reply(self, seconds: float) -> dict:
        try:
            return self.replies.get(timeout=seconds)
        except queue.Empty:
            return {}

    def _kill(self) -> None:
        if self.process is not None:
            self.launcher.kill(self.process)
        if self.control is not None:
            with contextlib.suppress(OSError):
                self.control.close()
        self.process = self.control = None
        if self.current is not None:
            self.current.end(None)

    # ------------------------------------------------------------ its workers

    def spawn(self, submission: Path, env: dict[str, str], fds: tuple[int, int, int]) -> ForkedProcess | None:
        """A fresh worker for ``submission`` holding the channel ``fds`` (request, reply, output); None when the
        template cannot give one (the caller starts one cold)."""
        with self._lock:
            if not self.alive and (not self.usable or not self.start()):
                return None
            _fill(self.inbox, submission)
            try:
                socket.send_fds(self.control, [json.dumps({"op": "fork", "env": env}).encode()], list(fds))
            except OSError:
                self._kill()
                return None
            reply = self._reply(ANSWER_SECONDS)
            if "forked" not in reply:
                self._kill()
                return None
            self.current = ForkedProcess(int(reply["forked"]))
            self.forks += 1
            return self.current

    def clean(self) -> bool:
        """Kill what the last worker left and empty its folder; a template that cannot is killed whole."""
        with self._lock:
            if not self.alive:
                return False
            try:
                self.control.send(json.dumps({"op": "clean"}).encode())
            except OSError:
                self._kill()
                return False
            reply = self._reply(CLEAN_SECONDS)
            if self.current is not None:
                self.current.end(self.current.returncode)
                self.current = None
            if reply.get("clean") is not True:
                self._kill()
                return False
            return True

    def close(self) -> None:
        with self._lock:
            if self.alive:
                with contextlib.suppress(OSError):
                    self.control.send(json.dumps({"op": "exit"}).encode())
                with contextlib.suppress(Exception):
                    self.process.wait(timeout=5)
            self._kill()
            shutil.rmtree(self.inbox, ignore_errors=True)


def _fill(inbox: Path, submission: Path) -> None:
    """Make the inbox hold exactly the submission's files (links where the file system allows, else copies)."""
    empty(inbox)

    def link_or_copy(source, target):
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    shutil.copytree(submission, inbox, symlinks=True, dirs_exist_ok=True, copy_function=link_or_copy)


class WarmWorkers:
    """The templates of a batch, one per slot, made on first use, replaced when a slot's settings change."""

    def __init__(self):
        self._templates: dict[int, tuple[object, Zygote]] = {}
        self._lock = threading.Lock()

    def for_worker(self, settings, launcher, environment: dict[str, str]) -> Zygote | None:
        """The template for a worker with these settings and this launcher; None where templates do not apply
        (no bubblewrap, or no uid drop: the folder and processes could not be cleaned completely)."""
        from .sandbox import Launcher

        if launcher.bwrap is None or launcher.drop_uid is None:
            return None
        key = settings
        with self._lock:
            held = self._templates.get(settings.slot)
            if held is not None and held[0] == key:
                return held[1]
            if held is not None:
                held[1].close()
            template = Launcher(limits=launcher.limits, device=launcher.device, readable=launcher.readable,
                                template=True)
            zygote = Zygote(template, environment)
            self._templates[settings.slot] = (key, zygote)
            return zygote

    def close(self) -> None:
        with self._lock:
            for _, zygote in self._templates.values():
                zygote.close()
            self._templates.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
