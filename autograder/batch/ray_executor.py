"""Grading beyond one machine: one Ray task per submission (``autograder grade --executor ray``).

Each task receives the submission's bytes (no shared file system needed), grades
it with the same sandboxed worker as a local batch on whichever node Ray chooses,
and returns the result as plain data. The student's code runs in that worker,
never in the Ray task itself, and under bubblewrap it has no network, so no
access to the cluster. A node needs this package installed (``pip install
autograder[ray]``) and, for data sets beyond the packaged ones, the data
directory at the same path as on the machine that submits the batch.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import tempfile
import zipfile
from pathlib import Path

from ..grading import resources
from ..grading.runner import grade_safely, not_graded
from ..results import SubmissionResult
from ..submission import regular_files

SLOTS = 64  # concurrent workers one node can tell apart (each its own unprivileged uid)


def pack(path: Path) -> bytes:
    """The submission as bytes: a zip archive as it is, a folder zipped (its files under their relative paths;
    links are left out, as a local grading leaves them out)."""
    path = Path(path)
    if path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in regular_files(path):
            archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()


def unpack(data: bytes, name: str, is_folder: bool, into: Path) -> Path:
    target = into / name
    if not is_folder:
        target.write_bytes(data)
        return target
    target.mkdir()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # written by ``pack``, on the trusted side
        archive.extractall(target)
    return target


@contextlib.contextmanager
def node_slot():
    """A slot number no other grading task on this node holds (a lock file per slot, released on exit)."""
    folder = Path(tempfile.gettempdir())
    for slot in range(SLOTS):
        handle = open(folder / f"autograder-slot-{slot}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        try:
            yield slot
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    raise RuntimeError(f"more than {SLOTS} grading tasks on one node")


def grade_packed(data: bytes, name: str, is_folder: bool, gpu_fraction: float | None, options: dict) -> dict:
    """Runs as a Ray task (one CPU): grade the submission from its bytes, return the result as plain data."""
    with tempfile.TemporaryDirectory(prefix="autograder-ray-") as scratch, node_slot() as slot:
        path = unpack(data, name, is_folder, Path(scratch))
        share = resources.Share(1, 1, gpu_fraction, slot)
        return grade_safely(path, share=share, **options).as_dict()


def grade_on_ray(paths: list[Path], *, jobs: int, address: str | None, options: dict, per_submission: dict):
    """(path, result) pairs as the cluster finishes them."""
    try:
        import ray
    except ImportError:
        raise SystemExit("autograder: --executor ray needs Ray: pip install 'autograder[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 **({} if address else {"num_cpus": jobs}))
    device = options.get("device", "auto")
    gpu = 0.0
    if device != "cpu" and ray.cluster_resources().get("GPU", 0) > 0:
        gpu = 1.0 / resources.WORKERS_PER_GPU  # e.g. four submissions share one GPU
        options = {**options, "device": "cuda"}
    elif device == "auto":
        options = {**options, "device": "cpu"}
    task = ray.remote(grade_packed).options(num_cpus=1, num_gpus=gpu, max_retries=1)
    pending = {}
    for path in paths:
        path = Path(path)
        ref = task.remote(pack(path), path.name, path.is_dir(), round(0.9 * gpu, 3) if gpu else None,
                          {**options, **per_submission.get(path, {})})
        pending[ref] = path
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        path = pending.pop(done[0])
        try:
            result = SubmissionResult.from_dict(ray.get(done[0]))
        except Exception as error:  # noqa: BLE001 - a lost node or task: this submission is reported, not the batch
            result = not_graded(path, options, f"the Ray task grading it failed ({type(error).__name__}); grade it "
                                "again", repr(error))
        yield path, result


def shutdown() -> None:
    with contextlib.suppress(ImportError):
        import ray

        if ray.is_initialized():
            ray.shutdown()

