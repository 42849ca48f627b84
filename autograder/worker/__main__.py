"""The worker process: ``python -m autograder.worker REQUEST_FD REPLY_FD``.

It runs in the scratch copy of one submission, loads the student's code when
asked, and answers requests with plain data until told to exit or its input
closes. Its stdout and stderr belong to the student's code; the protocol has
its own file descriptors.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import traceback
from pathlib import Path


def drop_privileges(uid: int) -> None:
    """Become the unprivileged user before any student code runs (the grader runs as root)."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def copy_submission(source: Path, target: Path) -> None:
    """Copy the read-only submission into the size-capped folder the student's code runs in."""
    for path in sorted(source.rglob("*")):
        if path.is_symlink():
            continue
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(exist_ok=True)
        elif path.is_file():
            shutil.copyfile(path, destination)


def _forget_channel(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def main() -> int:
    request_fd, reply_fd = int(sys.argv[1]), int(sys.argv[2])
    settings = json.loads(os.environ.get("AUTOGRADER_WORKER_SETTINGS", "{}"))
    if settings.get("drop_uid") is not None and os.geteuid() == 0:
        drop_privileges(int(settings["drop_uid"]))
    if settings.get("copy_from"):
        copy_submission(Path(settings["copy_from"]), Path.cwd())

    import torch  # before any student file can shadow it

    from . import importer
    from .handlers import WorkerState, dispatch
    from .importer import redirect_torchvision_datasets
    from .protocol import ChannelClosed, read_message, write_message

    torch.set_num_threads(max(1, int(settings.get("threads", 2))))
    if settings.get("device", "cpu").startswith("cuda"):
        # Same submission, same device, same scores: deterministic kernels where CUDA has them.
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    importer.IMPORT_SECONDS = float(settings.get("import_seconds", importer.IMPORT_SECONDS))
    redirect_torchvision_datasets(settings.get("torchvision_root"))
    # A process the student's code forks must never answer for the worker: it loses the channel.
    os.register_at_fork(after_in_child=lambda: _forget_channel(request_fd, reply_fd))
    root = Path.cwd().resolve()
    sys.path.append(str(root))  # after the standard paths: a student file cannot shadow torch or numpy
    state = WorkerState(root=root, device=torch.device(settings.get("device", "cpu")))
    write_message(reply_fd, {"ok": True, "ready": True, "torch": torch.__version__, "pid": os.getpid()})
    while True:
        try:
            request, arrays = read_message(request_fd)
        except ChannelClosed:
            return 0
        if request.get("op") == "exit":
            return 0
        try:
            header, out = dispatch(state, request, arrays)
        except Exception:  # a fault of the grader's own code: report it, keep serving
            header, out = {"ok": False, "failure": "internal", "message": traceback.format_exc(limit=5)}, {}
        write_message(reply_fd, header, out)


if __name__ == "__main__":
    sys.exit(main())
