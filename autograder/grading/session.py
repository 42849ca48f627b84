"""Grading one submission: open it, recognise its assignment, start its worker, plan its checks."""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

from ..common.folders import make_read_only, remove_tree
from ..devices import choose_device
from ..host.client import Worker, WorkerSettings
from ..notebooks import code_cells
from ..spec import Assignment, SpecError, available_assignments, parse_assignment
from ..submission import Submission, SubmissionError, open_submission
from . import limits, resources
from .context import GradingContext
from .plan import plan_checks
from .provided import provide_files
from .registry import load_assignment
from .resources import Share


def _notebook_sources(submission: Submission) -> str:
    """The code of the submission's notebooks, read as JSON (never run), for recognising the assignment."""
    return "\n".join(source for name in submission.files() if name.endswith(".ipynb")
                     for source in code_cells(submission.root / name)[0])


def expected_file_groups(assignment: Assignment) -> list[tuple[str, ...]]:
    """The files a submission should hold, each as the tuple of names accepted for it."""
    groups = [(f.name,) for f in assignment.files]
    groups += [tuple(subject.weights) for subject in assignment.subjects.values() if subject.weights]
    if assignment.answers is not None:
        groups.append((assignment.answers.file,))
    return groups


def recognise_assignment(submission: Submission) -> str:
    """The assignment whose expected files (and, in notebooks, classes and functions) the submission holds most
    of."""
    scores = {}
    notebook_code = _notebook_sources(submission)
    for assignment_id, toml in available_assignments().items():
        assignment = parse_assignment(toml)
        names = {f.name for f in assignment.files}
        for subject in assignment.subjects.values():
            names.update(subject.files)
            names.update(subject.weights)
        defined = {s.name for s in assignment.subjects.values() if s.find in ("class", "factory", "function")}
        in_code = sum(bool(re.search(rf"^\s*(class|def)\s+{re.escape(name)}\b", notebook_code, re.M))
                      for name in defined)
        scores[assignment_id] = sum(submission.has(name) for name in names) + in_code
    best = max(scores.values(), default=0)
    winners = [a for a, score in scores.items() if score == best]
    if best == 0:
        raise SubmissionError("none of the expected files of any known assignment is in the submission "
                              f"(known: {', '.join(scores)}); pass --assignment ID")
    if len(winners) > 1:
        raise SubmissionError(f"the files fit several assignments ({', '.join(winners)}); pass --assignment ID")
    return winners[0]


_prepared_roots: dict = {}
_prepared_lock = threading.Lock()
_preparing = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="autograder-torchvision")


def torchvision_root_ahead(data_dir) -> tuple[str, concurrent.futures.Future]:
    """The folder of a torchvision-layout copy of the data, and the future that writes it (once per
    process and data directory): the worker can start while the copy is being written."""
    key = str(data_dir)
    with _prepared_lock:  # submissions graded at once share one copy
        return _root_ahead(key, data_dir)


def _root_ahead(key: str, data_dir) -> tuple[str, concurrent.futures.Future]:
    if key not in _prepared_roots:
        _remove_orphaned_copies()
        root = Path(tempfile.mkdtemp(prefix=f"{COPY_PREFIX}{os.getpid()}-"))
        root.chmod(0o755)  # read by the unprivileged worker
        atexit.register(remove_tree, root)
        _prepared_roots[key] = (root, _preparing.submit(_prepare_read_only, root, data_dir))
    root, future = _prepared_roots[key]
    return str(root), future


COPY_PREFIX = "autograder-torchvision-"  # + the pid of the grader that made it


def _remove_orphaned_copies() -> None:
    """Copies left by graders that were killed before they could remove theirs (a Ray worker stopped, a job
    cancelled): their pid is in their name."""
    for folder in Path(tempfile.gettempdir()).glob(f"{COPY_PREFIX}*"):
        pid = folder.name[len(COPY_PREFIX):].split("-")[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        remove_tree(folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    return True


def _prepare_read_only(root: Path, data_dir) -> None:
    """Write the copy, then make it read-only: every worker reads it, none may change it for the next."""
    from ..datasets.torchvision_layout import prepare_torchvision_root

    prepare_torchvision_root(root, data_dir)
    make_read_only(root)


def torchvision_root(data_dir) -> str:
    """The torchvision-layout copy of the data, written."""
    root, future = torchvision_root_ahead(data_dir)
    future.result()
    return root


@contextlib.contextmanager
def grading_session(path: Path, *, assignment_id: str | None = None, data_dir=None, device: str = "auto",
                    share: Share | None = None, warm=None):
    """Yield ``(context, planned checks)`` for one submission; cleans up its worker and scratch folder. With
    ``warm`` (``host.warm.WarmWorkers``), its worker is forked from a warm template where the sandbox allows."""
    scratch = Path(tempfile.mkdtemp(prefix="autograder-submission-"))
    worker = None
    try:
        submission_dir = scratch / "submission"
        submission_dir.mkdir(mode=0o755)  # read by the unprivileged worker; its parent stays private
        submission = open_submission(Path(path), submission_dir)
        try:
            assignment: Assignment = load_assignment(assignment_id or recognise_assignment(submission))
        except SpecError as error:
            raise SubmissionError(str(error)) from None
        submission.adopt_misnamed(expected_file_groups(assignment))
        provided_notes: list[str] = []
        provide_files(assignment, submission, data_dir, provided_notes)
        chosen = str(choose_device(device))
        root, written = torchvision_root_ahead(data_dir)
        share = share or resources.share(1, chosen)
        settings = WorkerSettings(device=chosen, torchvision_root=root,
                                  import_seconds=limits.import_seconds(assignment),
                                  threads=share.threads, gpu_memory_fraction=share.gpu_memory_fraction,
                                  slot=share.slot, cpus=share.cpus, passive_wait=share.passive_wait,
                                  gpu=share.gpu if chosen == "cuda" else None)
        worker = Worker(submission.root, settings, warm=warm)
        ctx = GradingContext(assignment, submission, worker, data_dir=data_dir, device=chosen, ready=[written])
        ctx.notes.extend(submission.notes + provided_notes)
        ctx.notes.extend(f"{found} was graded as {name}, the name the handout asks for: rename it"
                         for name, found in submission.renamed.items())
        yield ctx, plan_checks(assignment)
    finally:
        if worker is not None:
            worker.close()
        shutil.rmtree(scratch, ignore_errors=True)
