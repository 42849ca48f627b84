"""Running a student's command-line program (``python train.py -z 8 -e 50 -s MLP.8.pth``) in the worker.

The worker copies the submission into a folder of its own for each script
(``.script-runs/KEY`` under its working copy: what one script writes is never
what another check reads as submitted), then starts a fresh interpreter there
(``python -m autograder.worker.scripts``) that runs the file as ``__main__``
with the declared arguments in ``sys.argv``, stdin empty, and the notebook's
cap on training (``training_cap.py``: after the step budget, DataLoader passes yield
one batch and the steps change nothing, so the script runs on to its end and
writes its files; a loop that takes no batch from a DataLoader is stopped). Its
computing is limited in CPU time (wall clock several times longer is only a
safety net). It answers with plain data: how the run ended, what it printed
on stdout and on stderr (each bounded), which files it created or changed, and whether each declared weight
file loads with ``weights_only=True``. The trusted side judges.
"""

from __future__ import annotations

import builtins
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..common.settings import WorkerSettings

RUNS = ".script-runs"  # under the worker's working copy: one copy of the submission per script subject
OUTPUT_HEAD, OUTPUT_TAIL = 4000, 8000  # characters of printed output kept from the start and from the end
FILES_LISTED = 50  # files created or changed, reported
FILES_SCANNED = 5000
WEIGHTS_BYTES = 256 * 1024 * 1024  # a declared weight file larger than this is not loaded
CEILING_FACTOR, CEILING_EXTRA = 5, 60  # the wall-clock safety net: seconds x factor + extra
INPUT_MESSAGE = "the script asked for input (input() or sys.stdin); the grader's stdin is empty"
IMPORT_INPUT_MESSAGE = "asks for input when imported (the grader's stdin is empty)"


# ---------------------------------------------------------------- in the worker


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    found = {}
    for path in itertools.islice(folder.rglob("*"), FILES_SCANNED):
        if path.is_file() and not path.is_symlink():
            stat = path.stat()
            found[path.relative_to(folder).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def _copy_submission(root: Path, target: Path) -> None:
    """The submission as the worker holds it, copied (never linked: a script writing a file in place must not
    change the original), without the other scripts' folders."""
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in sorted(itertools.islice(root.rglob("*"), FILES_SCANNED)):
        relative = path.relative_to(root)
        if relative.parts[0] in (RUNS, ".saved-elsewhere") or path.is_symlink():
            continue
        if path.is_dir():
            (target / relative).mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            shutil.copyfile(path, target / relative)


class _Output:
    """What the script printed: the first and the last characters, whatever its amount."""

    def __init__(self, stream):
        self.head, self.tail, self.dropped = "", "", 0
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        while chunk := stream.read(8192):
            text = chunk.decode("utf-8", errors="replace")
            if len(self.head) < OUTPUT_HEAD:
                room = OUTPUT_HEAD - len(self.head)
                self.head, text = self.head + text[:room], text[room:]
            self.tail += text
            if len(self.tail) > OUTPUT_TAIL:
                self.dropped += len(self.tail) - OUTPUT_TAIL
                self.tail = self.tail[-OUTPUT_TAIL:]

    def text(self) -> tuple[str, bool]:
        self._thread.join(timeout=5)
        if self.dropped:
            return f"{self.head}\n[... {self.dropped} characters ...]\n{self.tail}", True
        return self.head + self.tail, False


def _weight_file(path: Path) -> dict:
    """Whether a weight file the script wrote loads with ``weights_only=True`` as a state_dict of tensors."""
    import torch

    from ..common.state_dicts import unwrap_state_dict

    if not path.is_file():
        return {"exists": False}
    size = path.stat().st_size
    if size > WEIGHTS_BYTES:
        return {"exists": True, "size": size, "loads": False, "problem": f"larger than {WEIGHTS_BYTES >> 20} MB"}
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - an untrusted file's failure is reported, not raised
        text = str(error).splitlines()[0][:300] if str(error) else type(error).__name__
        pickled = "weights_only" in str(error) or "Unsupported global" in str(error)
        return {"exists": True, "size": size, "loads": False,
                "problem": "a pickled object, not a state_dict" if pickled else "unreadable", "detail": text}
    state_dict, _ = unwrap_state_dict(loaded, torch.Tensor)
    if state_dict is None:
        return {"exists": True, "size": size, "loads": False, "problem": "not a state_dict",
                "detail": type(loaded).__name__[:100]}
    return {"exists": True, "size": size, "loads": True, "tensors": len(state_dict)}


def folder_name(key: str) -> str:
    return f"{RUNS}/{re.sub(r'[^A-Za-z0-9_.-]', '_', key)[:60] or 'script'}"


def own_settings() -> WorkerSettings:
    """The worker's settings, which the script's interpreter inherits with the worker's environment."""
    return WorkerSettings.from_json(os.environ.get("AUTOGRADER_WORKER_SETTINGS"))


def run_script(root: Path, request: dict) -> dict:
    """Run ``request["file"]`` in a fresh copy of the submission; the account of the run, as plain data."""
    folder_text = folder_name(request.get("key", "script"))
    folder = root / folder_text
    _copy_submission(root, folder)
    script = (folder / request["file"]).resolve()
    if not script.is_relative_to(folder) or not script.is_file():
        return {"ended": "missing", "file": request["file"]}
    before = _snapshot(folder)
    seconds = float(request["seconds"])
    threads = max(1, own_settings().threads)
    job = {"file": request["file"], "args": [str(a) for a in request.get("args", [])], "steps": int(request["steps"]),
           "seconds": seconds}
    read_end, write_end = os.pipe()
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1", "AUTOGRADER_SCRIPT": json.dumps(job),
           "AUTOGRADER_SCRIPT_REPORT_FD": str(write_end)}
    process = subprocess.Popen([sys.executable, "-s", "-P", "-m", "autograder.worker.scripts"], cwd=folder, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               pass_fds=(write_end,), start_new_session=True)
    os.close(write_end)
    output, errors = _Output(process.stdout), _Output(process.stderr)
    report_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: report_chunks.extend(iter(lambda: os.read(read_end, 65536), b"")),
                              daemon=True)
    reader.start()
    ceiling = max(seconds * CEILING_FACTOR, seconds * threads) + CEILING_EXTRA
    try:
        code = process.wait(timeout=ceiling)
        killed = None
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        code, killed = process.wait(), f"still running after {ceiling:.0f} s (waiting rather than computing)"
    reader.join(timeout=5)
    os.close(read_end)
    with_children = _end_children(process.pid)
    printed, cut = output.text()
    warned, _ = errors.text()
    try:
        report = json.loads(b"".join(report_chunks).decode() or "{}")
    except ValueError:
        report = {}
    if not report:
        report = {"ended": "killed", "detail": killed or _signal_text(code)}
    after = _snapshot(folder)
    changed = [{"name": name, "size": size, "new": name not in before}
               for name, (size, mtime) in sorted(after.items()) if before.get(name) != (size, mtime)]
    written = {entry["name"] for entry in changed}  # a weight file the submission holds is not the run's output
    weights = {name: _weight_file((folder / name).resolve()) for name in request.get("weights", [])
               if (folder / name).resolve().is_relative_to(folder)
               and Path(os.path.normpath(name)).as_posix() in written}
    return {**report, "exit_code": code, "output": printed, "output_cut": cut, "errors": warned, "folder": folder_text,
            "written": changed[:FILES_LISTED], "written_count": len(changed), "weights": weights,
            "left_processes": with_children}


def _signal_text(code: int) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        return f"the process was killed by {name}" + (" (out of CPU time)" if name in ("SIGXCPU", "SIGKILL") else "")
    return f"the process ended with status {code} without reporting"


def _end_children(pid: int) -> bool:
    """Processes the script left behind (its session) are killed; True when there were some."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


# ---------------------------------------------------------------- in the script's own interpreter


class StopScript(BaseException):  # noqa: N818 - control flow: the grader ends the run
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class _AskedForInput:
    asked = False


def _no_input(prompt=""):
    """``input()`` with the grader's empty stdin: recorded, then the EOFError a closed stdin gives."""
    _AskedForInput.asked = True
    raise EOFError(INPUT_MESSAGE)


def install_import_input_message() -> None:
    """In the worker: ``input()`` called while a file is being imported raises an EOFError that says so (the
    grader's stdin is empty), rather than a bare "EOF when reading a line"."""
    from . import importer

    original = builtins.input
    if getattr(original, "_grader_input", False):
        return

    def grader_input(prompt=""):
        guard = importer._guard
        if guard is not None and guard.active:
            raise EOFError(IMPORT_INPUT_MESSAGE)
        return original(prompt)

    grader_input._grader_input = True
    builtins.input = grader_input


def _install(job: dict, root: Path) -> None:
    """The worker's environment in this interpreter, and the notebook's cap on training."""
    from . import cuda_shim, training_cap
    from .importer import redirect_keras_datasets, redirect_torchvision_datasets
    from .kernel_seed import die_with_parent
    from .share import seed_everything, use_share

    settings = own_settings()
    die_with_parent()
    use_share(settings)
    seed_everything(0)
    if settings.device.startswith("cuda"):
        import torch

        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    cuda_shim.install()
    redirect_torchvision_datasets(settings.torchvision_root)
    redirect_keras_datasets(settings.torchvision_root)
    training_cap.install(int(job["steps"]), memoise=False)
    training_cap.arm(0)
    builtins.input = _no_input
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the script's stdin for its whole run
    sys.path.append(str(root))  # after the standard paths, as in the worker: a student file cannot shadow torch


def _alarm(signum, frame):
    signal.setitimer(signal.ITIMER_PROF, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    raise StopScript("timeout", "still running after its time limit" if signum == signal.SIGPROF else
                     "still running long after its time limit, waiting (sleeping or blocked) rather than computing")


def _run(job: dict, root: Path) -> dict:
    import runpy

    from .importer import describe_exception, student_frames
    from .training_cap import StopTraining, cap

    threads = max(1, own_settings().threads)
    seconds = float(job["seconds"])
    signal.signal(signal.SIGPROF, _alarm)
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_PROF, seconds * threads)
    signal.setitimer(signal.ITIMER_REAL, max(seconds * CEILING_FACTOR, seconds * threads) + CEILING_EXTRA / 2)
    sys.argv = [job["file"], *job["args"]]
    ended: dict = {"ended": "finished"}
    try:
        runpy.run_path(str(root / job["file"]), run_name="__main__")
    except StopTraining as stop:
        ended = {"ended": "stopped", "detail": str(stop), "frames": student_frames(stop.__traceback__, root)}
    except StopScript as stop:
        ended = {"ended": "timeout", "detail": f"{stop.detail} ({seconds:g} s of computing)",
                 "frames": student_frames(stop.__traceback__, root)}
    except SystemExit as exit_:
        code = exit_.code
        if code not in (None, 0):
            ended = {"ended": "exit", "code": code if isinstance(code, int) else str(code)[:300],
                     "frames": student_frames(exit_.__traceback__, root)}
    except EOFError as error:
        ended = {"ended": "input" if _AskedForInput.asked else "error", "error": describe_exception(error, root)}
    except BaseException as error:  # the student's code raised
        ended = {"ended": "error", "error": describe_exception(error, root)}
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
    if ended["ended"] == "finished" and _AskedForInput.asked:
        ended["asked_for_input"] = True  # it caught the EOFError and went on
    return {**ended, "steps": cap.steps, "budget": cap.budget,
            "throttled": bool(cap.throttled_cells) or cap.steps > cap.budget}


def main() -> None:
    """The script's interpreter: run it, write the account to the report descriptor, end at once (threads the
    script started, its atexit handlers and open plots do not keep it alive)."""
    job = json.loads(os.environ.pop("AUTOGRADER_SCRIPT"))
    report_fd = int(os.environ.pop("AUTOGRADER_SCRIPT_REPORT_FD"))
    os.set_inheritable(report_fd, False)
    import resource

    threads = max(1, own_settings().threads)
    hard = int(float(job["seconds"]) * threads) + 30  # the kernel's own limit, should the timer be ignored
    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard + 5))
    root = Path.cwd().resolve()
    _install(job, root)
    report = _run(job, root)
    sys.stdout.flush()
    sys.stderr.flush()
    data = json.dumps(report, default=str).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(report_fd, view):]
    os.close(report_fd)
    os._exit(0)


if __name__ == "__main__":
    main()
