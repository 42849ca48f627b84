"""The worker process: ``python -m autograder.worker REQUEST_FD REPLY_FD``.

It runs in the scratch copy of one submission, loads the student's code when
asked, and answers requests with plain data until told to exit or its input
closes. Its stdout and stderr belong to the student's code; the protocol has
its own file descriptors.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ..common.settings import WorkerSettings


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


def main() -> int:
    request_fd, reply_fd = int(sys.argv[1]), int(sys.argv[2])
    settings = WorkerSettings.from_json(os.environ.get("AUTOGRADER_WORKER_SETTINGS"))
    return serve_submission(request_fd, reply_fd, settings)


def serve_submission(request_fd: int, reply_fd: int, settings: WorkerSettings) -> int:
    """Become the unprivileged worker of one submission and answer the grader until told to exit (also in a
    process forked from a warm template, ``worker/zygote.py``, with the same settings)."""
    from ..common.ipc_objects import own_ipc_namespace, remove_ipc
    from .keyrings import forbid_keyrings, fresh_keyrings

    if settings.drop_uid is not None and os.geteuid() == 0:
        own_ipc_namespace()  # where root may (no bubblewrap): System V objects and POSIX queues end with it
        drop_privileges(settings.drop_uid)
    if settings.drop_uid is not None and os.geteuid() == settings.drop_uid:
        # A uid of the grader's own, used by one submission after another (never the person running the grader,
        # whose keyrings and IPC objects are theirs): nothing the one before left in a keyring, shared memory, a
        # message queue or a semaphore.
        fresh_keyrings()
        remove_ipc(os.geteuid())
    forbid_keyrings()  # keyrings are not namespaced: student code gets none, whoever runs it
    if settings.copy_from:
        copy_submission(Path(settings.copy_from), Path.cwd())

    import torch  # before any student file can shadow it

    from . import keras_fit, keras_support, kernel_seed

    keras_support.use_own_home()  # before the seed is forked: its kernel inherits it
    # A notebook's kernel is forked from here, before anything has touched OpenMP or CUDA (kernel_seed.py).
    seed = kernel_seed.plant() if any(Path.cwd().glob("*.ipynb")) else None  # the graded notebook is at the top
    from ..common.protocol import write_message
    from . import cuda_shim, importer, training_cap
    from .importer import redirect_torchvision_datasets
    from .notebook_runner import run_and_hand_over, wait_for_kernel
    from .serving import serve
    from .share import seed_everything, use_share
    from .state import WorkerState

    use_share(settings)
    seed_everything(0)  # a file that draws random numbers when imported does the same every time
    if settings.device.startswith("cuda"):
        # Same submission, same device, same scores: deterministic kernels where CUDA has them.
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    importer.IMPORT_SECONDS = settings.import_seconds
    importer.THREADS = max(1, settings.threads)
    redirect_torchvision_datasets(settings.torchvision_root)
    importer.redirect_keras_datasets(settings.torchvision_root)
    keras_fit.install_fit_capture(training_cap.STEP_BUDGET)
    cuda_shim.install()
    root = Path.cwd().resolve()
    sys.path.append(str(root))  # after the standard paths: a student file cannot shadow torch or numpy
    state = WorkerState(root=root, device=torch.device(settings.device))
    write_message(reply_fd, {"ok": True, "ready": True, "torch": torch.__version__, "pid": os.getpid()})

    def load_notebook(request):
        if request.get("op") != "load_notebook":
            return {"ok": False, "failure": "protocol", "message": f"unknown op {request.get('op')!r}"}
        reply, kernel = run_and_hand_over(root / request["file"], request_fd, reply_fd,
                                          settings.with_changes(request.get("settings", {})), seed)
        if kernel is None:
            return reply
        wait_for_kernel(kernel, request_fd, reply_fd)  # the kernel answers from now on
        return False

    serve(state, request_fd, reply_fd, special=load_notebook)
    return 0


if __name__ == "__main__":
    sys.exit(main())
