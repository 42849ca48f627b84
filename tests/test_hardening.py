"""What grading leaves behind, and what the trusted side reads before it bounds it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.grading.runner import grade
from autograder.host import sandbox
from tests.conftest import ROOT

NOTEBOOK_EXAMPLE = ROOT / "submissions" / "cpsc663-ex2" / "notebook-cell-error"


def _ours() -> set[str]:
    tmp = Path(tempfile.gettempdir())
    return {p.name for pattern in ("kernel-*", "autograder-submission-*", "autograder-worker-*", "autograder-ray-*")
            for p in tmp.glob(pattern)}


@pytest.mark.slow
@pytest.mark.parametrize("bubblewrap", ["on", "off"])
def test_grading_a_notebook_leaves_no_temporary_folder_behind(bubblewrap, monkeypatch):
    if bubblewrap == "on" and sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed here")
    monkeypatch.setenv("AUTOGRADER_BWRAP", "1" if bubblewrap == "on" else "0")
    monkeypatch.setenv(sandbox.UNSAFE_ENV, "1")  # where no uid drop is possible either (this machine's CI)
    sandbox.bwrap_path.cache_clear()
    before = _ours()
    try:
        result = grade(NOTEBOOK_EXAMPLE, device="cpu", keyword="notebook")
    finally:
        sandbox.bwrap_path.cache_clear()
    assert result.error is None and any(c.check_id == "notebook/runs" for c in result.checks)
    assert _ours() - before == set()


def test_the_torchvision_copy_is_removed_when_the_grader_exits(tmp_path):
    code = ("from autograder.grading.session import torchvision_root\n"
            "print(torchvision_root(None))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                 "AUTOGRADER_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    root = Path(result.stdout.strip().splitlines()[-1])
    assert root.name.startswith("autograder-torchvision-") and not root.exists()


def test_a_weight_file_is_read_on_the_trusted_side_only_within_its_unpacked_size(tmp_path):
    import zipfile

    import torch

    from autograder.grading.measure.training import weight_shapes

    plain = tmp_path / "plain.pt"
    torch.save({"w": torch.zeros(100, 100)}, plain)
    assert weight_shapes(plain, 10**6) == {"w": [100, 100]}
    deflated = tmp_path / "deflated.pt"  # the same archive, its 40 kB storage compressed to a few hundred bytes
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    assert deflated.stat().st_size < 5000
    assert weight_shapes(deflated, 10**6) == {"w": [100, 100]}  # torch reads it
    assert weight_shapes(deflated, 20_000) is None  # but it unpacks past the bound: not read
    assert weight_shapes(plain, 20_000) is None


def test_a_notebook_is_bounded_before_it_is_parsed(tmp_path, monkeypatch):
    import json

    from autograder import notebooks

    many = tmp_path / "many.ipynb"
    cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}
    many.write_text(json.dumps({"cells": [cell] * (notebooks.NOTEBOOK_CELLS + 1), "metadata": {},
                                "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(notebooks.NotebookProblem, match=r"many.ipynb has 5,001 cells, over the grader's limit"):
        notebooks.validate(many)
    monkeypatch.setattr(notebooks, "NOTEBOOK_BYTES", 1000)
    with pytest.raises(notebooks.NotebookProblem, match=r"over the grader's limit of 0 MB .* Clear all outputs"):
        notebooks.validate(many)


def test_as_root_with_neither_bubblewrap_nor_a_uid_drop_grading_is_refused_unless_asked_for(tmp_path):
    if os.geteuid() != 0 or sandbox.can_drop_privileges_without_bwrap():
        pytest.skip("only as root where Python is not readable by other users (the worker could not drop root)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AUTOGRADER_BWRAP": "0"}
    command = [sys.executable, "-m", "autograder.cli", "grade", str(NOTEBOOK_EXAMPLE), "-k", "notebook"]
    refused = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert refused.returncode == 2
    assert "refusing to run student code as root without a sandbox" in refused.stderr
    assert f"set {sandbox.UNSAFE_ENV}=1 to grade anyway" in refused.stderr
    with pytest.raises(sandbox.SandboxRefused, match="Install bubblewrap"):
        sandbox.Launcher(use_bwrap=False)


@pytest.mark.slow
@pytest.mark.parametrize("bubblewrap", ["on", "off"])
def test_files_the_students_code_writes_never_count_as_submitted(bubblewrap, tmp_path, monkeypatch):
    """prob5_AE.py saves an untrained AE as mnist_ae.pt when imported: the weight file is still missing."""
    if bubblewrap == "on" and sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed here")
    student = tmp_path / "student"
    shutil.copytree(ROOT / "submissions" / "cpsc663-ex2" / "sequential-style", student)
    (student / "mnist_ae.pt").unlink()
    with open(student / "prob5_AE.py", "a") as f:
        f.write("\nimport torch as _torch\n_torch.save(AE().state_dict(), 'mnist_ae.pt')\n")
    monkeypatch.setenv("AUTOGRADER_BWRAP", "1" if bubblewrap == "on" else "0")
    monkeypatch.setenv(sandbox.UNSAFE_ENV, "1")
    sandbox.bwrap_path.cache_clear()
    try:
        result = grade(student, device="cpu", keyword="5.4/AE/weights or 5.4/AE/constructs")
    finally:
        sandbox.bwrap_path.cache_clear()
    checks = {c.check_id: c for c in result.checks}
    assert checks["5.4/AE/constructs"].passed  # the file was imported, so its torch.save ran
    assert not checks["5.4/AE/weights_load"].passed
    assert "no weight file for AE: expected mnist_ae.pt" in checks["5.4/AE/weights_load"].feedback


@pytest.mark.slow
def test_the_answer_key_is_out_of_the_workers_reach_wherever_it_is_installed(tmp_path, monkeypatch):
    """Under bubblewrap: neither importable nor readable, from a source checkout or from site-packages."""
    if sandbox.bwrap_path() is None:
        pytest.skip("without bubblewrap the worker can read what the unprivileged uid may read (README)")
    from autograder.host.client import Worker, WorkerSettings

    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    shutil.copytree(ROOT / "reference", site / "reference")  # as a regular (non-editable) install lays it out
    monkeypatch.syspath_prepend(str(site))
    secrets = [site / "reference" / "cpsc663_ex2" / "thresholds.json",
               ROOT / "reference" / "cpsc663_ex2" / "thresholds.json"]
    student = tmp_path / "student"
    student.mkdir()
    (student / "answers.py").write_text(
        "import os\n"
        f"READABLE = [float(os.path.exists(p)) for p in {[str(p) for p in secrets]!r}]\n"
        "try:\n    import reference\n    IMPORTED = 1.0\nexcept ImportError:\n    IMPORTED = 0.0\n")
    assert sandbox.answer_keys_within(site.parents[2]) == [site / "reference"]
    worker = Worker(student, WorkerSettings())
    try:
        header, _ = worker.call("values", "reading", 60, file="answers.py", names=["READABLE", "IMPORTED"])
    finally:
        worker.close()
    found = {name: entry["value"] for name, entry in header["values"].items()}
    assert found == {"READABLE": [0.0, 0.0], "IMPORTED": 0.0}


@pytest.mark.slow
@pytest.mark.parametrize("bubblewrap", ["on", "off"])
def test_a_detached_process_the_student_started_does_not_outlive_the_grading(bubblewrap, tmp_path, monkeypatch):
    """A new session, so outside the worker's process group: the PID namespace (bubblewrap) or the worker's
    cgroup (without it) ends it with the worker."""
    import uuid

    from autograder.host.cgroups import Cgroup
    from autograder.host.client import Worker, WorkerSettings

    if bubblewrap == "on" and sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed here")
    if bubblewrap == "off":
        probe = Cgroup.create(memory_bytes=2**30, tasks=64)
        if probe is None:
            pytest.skip("no cgroup can be made here: a detached process outlives the worker (README)")
        probe.remove()
    monkeypatch.setenv("AUTOGRADER_BWRAP", "1" if bubblewrap == "on" else "0")
    monkeypatch.setenv(sandbox.UNSAFE_ENV, "1")
    marker = f"survivor-{uuid.uuid4().hex}"
    student = tmp_path / "student"
    student.mkdir()
    (student / "answers.py").write_text(
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time  # {marker}\\nwhile True: time.sleep(0.1)'], "
        "start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "STARTED = 1.0\n")
    sandbox.bwrap_path.cache_clear()
    try:
        worker = Worker(student, WorkerSettings())
        try:
            header, _ = worker.call("values", "reading", 60, file="answers.py", names=["STARTED"])
            assert header["values"]["STARTED"]["value"] == 1.0
            assert _running(marker), "the detached process did not start"
        finally:
            worker.close()
    finally:
        sandbox.bwrap_path.cache_clear()
    deadline = time.monotonic() + 5
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(marker)


def _running(marker: str) -> bool:
    return bool(subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split())


def test_a_workers_cgroup_limits_its_memory_tasks_and_cpu_together():
    from autograder.host.cgroups import Cgroup

    group = Cgroup.create(memory_bytes=256 * 2**20, tasks=16, cpus=0.5)
    if group is None:
        pytest.skip("no cgroup can be made here (not root, or no writable cgroup file system)")
    try:
        code = ("import subprocess, sys\n"
                "kids = [subprocess.Popen(['sleep', '5']) for _ in range(40)]\n")
        forks = subprocess.run([sys.executable, "-c", code], preexec_fn=group.enter, capture_output=True, text=True)
        assert forks.returncode != 0 and ("BlockingIOError" in forks.stderr or "Resource temporarily" in forks.stderr)
        group.kill()
        hog = subprocess.run([sys.executable, "-c", "x = bytearray(1024 * 2**20); x[::4096] = b'1' * len(x[::4096])"],
                             preexec_fn=group.enter, capture_output=True)
        assert hog.returncode in (-9, 137) or b"MemoryError" in hog.stderr
        quota = [f for f in group.folders if (f / "cpu.cfs_quota_us").exists() or (f / "cpu.max").exists()]
        for folder in quota:
            text = (folder / "cpu.max").read_text() if (folder / "cpu.max").exists() else (
                folder / "cpu.cfs_quota_us").read_text()
            assert text.split()[0] == "50000"
    finally:
        group.remove()
    assert all(not folder.exists() for folder in group.folders)


def test_only_package_folders_of_the_import_path_are_bound_into_the_sandbox(tmp_path, monkeypatch):
    """A script run from /tmp puts /tmp on sys.path: binding it would show the worker every submission being
    graded (their scratch copies lie there)."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    monkeypatch.setattr(sys, "path", [str(scripts), str(tempfile.gettempdir()), "", *sys.path])
    bound = sandbox.python_paths()
    assert not any(scripts.is_relative_to(path) or Path(tempfile.gettempdir()).is_relative_to(path)
                   for path in bound), bound
    assert any(Path(torch_dir).is_relative_to(path) for path in bound for torch_dir in [_package_folder("torch")])


def _package_folder(name: str) -> str:
    import importlib.util

    return str(Path(importlib.util.find_spec(name).origin).parent)


def test_a_cached_data_set_changed_after_it_was_written_is_rebuilt_from_its_source(tmp_path, monkeypatch):
    from autograder import datasets
    from autograder.datasets import loading

    monkeypatch.setenv("AUTOGRADER_CACHE_DIR", str(tmp_path / "cache"))
    loading.clear_memory_cache()
    honest = datasets.load_dataset("digits").test.labels.copy()
    [labels] = (tmp_path / "cache").rglob("test_labels.npy")
    assert not labels.stat().st_mode & 0o222 and not labels.parent.stat().st_mode & 0o222  # read-only
    labels.parent.chmod(0o755)
    labels.chmod(0o644)
    poisoned = np.load(labels)
    poisoned[:] = 0  # every held-out label "0": a model answering 0 would score 100%
    np.save(labels, poisoned)
    loading.clear_memory_cache()
    reloaded = datasets.load_dataset("digits").test.labels
    loading.clear_memory_cache()
    assert (reloaded == honest).all() and len(set(honest.tolist())) == 10


def test_the_data_copy_student_code_reads_is_read_only(tmp_path):
    from autograder.grading.session import torchvision_root

    root = Path(torchvision_root(None))
    written = [p for p in [root, *root.rglob("*")] if p.stat().st_mode & 0o222]
    assert written == [], written


_PEAK = """
import resource, sys
from pathlib import Path
from autograder.grading.runner import grade
result = grade(Path(sys.argv[1]), assignment_id="cpsc663-ex2", device="cpu", keyword=sys.argv[2])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, result.score)
"""


def _grader_peak_bytes(submission: Path, keyword: str) -> tuple[int, float]:
    done = subprocess.run([sys.executable, "-c", _PEAK, str(submission), keyword], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    peak, score = done.stdout.split()[-2:]
    return int(peak), float(score)


@pytest.mark.slow
def test_the_graders_peak_memory_stays_within_a_margin_whatever_the_submission(tmp_path):
    """The trusted process reads weight archives, notebooks and replies only within bounds: a submission built to
    make it read a lot (a weight file that unpacks to 512 MiB, a notebook of 200,000 cells, a reply flood) costs
    it no more memory than an honest one, give or take a margin."""
    import json
    import zipfile

    import torch

    honest = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
    bomb = tmp_path / "bomb"
    bomb.mkdir()
    shutil.copy(honest / "prob5_AE.py", bomb / "prob5_AE.py")
    with open(bomb / "prob5_AE.py", "a") as f:
        f.write("\nNAMES = {f'n{i}' * 50: i for i in range(200_000)}  # a reply listing many long names\n")
    plain = tmp_path / "plain.pt"
    torch.save({"encoder.0.weight": torch.zeros(2**27)}, plain)  # 512 MiB of zeros
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb / "mnist_ae.pt", "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            with source.open(info) as reading, out.open(info.filename, "w", force_zip64=True) as writing:
                shutil.copyfileobj(reading, writing, 1 << 22)
    plain.unlink()
    assert (bomb / "mnist_ae.pt").stat().st_size < 4 * 2**20
    cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}
    (bomb / "prob5.ipynb").write_text(json.dumps({"cells": [cell] * 200_000, "metadata": {}, "nbformat": 4,
                                                  "nbformat_minor": 5}))
    keyword = "prob5_AE or 5.4/AE or notebook"
    honest_peak, honest_score = _grader_peak_bytes(honest, keyword)
    bomb_peak, bomb_score = _grader_peak_bytes(bomb, keyword)
    assert honest_score > bomb_score  # the bomb's weights do not load: it was graded, not skipped
    assert bomb_peak - honest_peak < 200 * 2**20, (honest_peak, bomb_peak)


def test_a_data_copy_left_by_a_grader_that_was_killed_is_removed_by_the_next_one(tmp_path):
    code = ("import os\nfrom autograder.grading.session import torchvision_root\n"
            "print(torchvision_root(None), flush=True)\nos._exit(0)\n")  # no atexit: as if killed
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AUTOGRADER_CACHE_DIR": str(tmp_path / "cache")}
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                            env=env)
    left = Path(killed.stdout.strip().splitlines()[-1])
    assert left.is_dir(), killed.stderr
    code = "from autograder.grading.session import torchvision_root\ntorchvision_root(None)\n"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300, env=env)
    assert not left.exists()


def test_a_students_payload_reaches_no_report_as_code_and_stops_no_batch(tmp_path, capsys):
    """The first submission of a batch is named as a spreadsheet formula and raises a message holding a lone
    surrogate, a terminal's escape sequences and a carriage return that would forge a line; the second is
    graded, every report is written, none carries the payload as code."""
    import csv
    import shutil
    import xml.etree.ElementTree as ET

    from autograder.cli import main

    good = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
    formula = tmp_path / "batch" / '=HYPERLINK("evil.example","click")'
    shutil.copytree(good, formula)
    path = formula / "prob5_AE.py"
    path.write_text(path.read_text().replace(
        "        x = x.view(x.size(0), -1)\n",
        "        raise ValueError('bad \\ud800 \\x1b]0;pwned\\x07\\x1b[2J\\r90/90 points')\n"))
    shutil.copytree(good, tmp_path / "batch" / "next-student")
    out = tmp_path / "out"
    assert main(["grade", str(formula), str(tmp_path / "batch" / "next-student"), "--out", str(out),
                 "--junit", str(out / "junit.xml"), "-k", "5.4/AE/output_shapes", "--no-similarity",
                 "--jobs", "1", "--canvas"]) == 0
    printed = capsys.readouterr()
    assert "\x1b" not in printed.out + printed.err and "\r" not in printed.out + printed.err
    rows = list(csv.reader((out / "gradebook.csv").open()))
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"evil.example\",\"click\")", "next-student"]
    canvas = list(csv.reader((out / "gradebook-canvas.csv").open()))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in canvas for cell in row)
    failures = [c for c in ET.parse(out / "junit.xml").iter("failure")]  # well-formed, or this raises
    message = next(f.get("message") for f in failures if "bad" in f.get("message", ""))
    assert "\x1b" not in message and "\\x1b]0;pwned" in message and "\ufffd" in message
    assert (out / "next-student.json").is_file() and (out / "next-student.html").is_file()


ADD_KEYS = '''
import ctypes, platform
_libc = ctypes.CDLL(None, use_errno=True)
_add_key, _keyctl = {"x86_64": (248, 250), "aarch64": (217, 219)}[platform.machine()]
_persistent = _libc.syscall(_keyctl, 22, -1, ctypes.c_long(-3))  # KEYCTL_GET_PERSISTENT, linked into @s
for _ring in (-3, -4, -5, _persistent):  # the session, user, user session and persistent keyrings
    _key = _libc.syscall(_add_key, b"user", b"autograder-leak-%d" % abs(_ring), b"secret", 6, ctypes.c_long(_ring))
    if _key > 0:
        _libc.syscall(_keyctl, 5, ctypes.c_long(_key), ctypes.c_uint(0x3F3F3F3F))  # KEYCTL_SETPERM: anyone's
'''
READ_KEYS = '''
_seen = [line for line in open("/proc/keys").read().splitlines() if "autograder-leak" in line]
if _seen:
    raise RuntimeError("keys left by another submission: " + "; ".join(_seen))
'''


def test_two_workers_at_once_never_share_a_uid_and_a_released_uid_is_taken_again(tmp_path):
    """Two graders on one machine both start their slot 0: the second is given the next free uid, so
    neither reaches the other's keyrings, IPC objects or process count; a uid given back is used again."""
    from autograder.host.sandbox import UidClaim

    folder = tmp_path / "locks"
    folder.mkdir(mode=0o700)
    first, second = UidClaim(65534, folder), UidClaim(65534, folder)
    assert (first.uid, second.uid) == (65534, 65533)
    first.release()
    third = UidClaim(65534, folder)
    assert third.uid == 65534
    second.release()
    third.release()


@pytest.mark.skipif(not Path("/proc/keys").exists(), reason="this kernel has no keyrings")
def test_a_key_one_submission_adds_is_not_in_the_next_ones_keyrings(tmp_path):
    from autograder.batch.run import grade_many

    good = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
    first, second = tmp_path / "a-adds-keys", tmp_path / "b-looks-for-them"
    for folder, code in ((first, ADD_KEYS), (second, READ_KEYS)):
        shutil.copytree(good, folder)
        append = folder / "prob5_AE.py"
        append.write_text(append.read_text() + code)
    results = grade_many([first, second], jobs=1, device="cpu", keyword="files/prob5_AE.py/imports")
    imports = {r.submission: r.checks[0] for r in results}
    assert imports["a-adds-keys"].passed
    assert imports["b-looks-for-them"].passed, imports["b-looks-for-them"].feedback


def _in_child(work, uid: int | None = None) -> int:
    """``work()`` (an exit code) in a forked child, as ``uid`` where given; the child's exit code."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            code = work()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine not in ("x86_64", "aarch64"),
                    reason="the keyring filter is for Linux on x86_64 and aarch64")
def test_student_code_cannot_use_a_keyring_and_everything_else_works():
    """Keyrings are not namespaced: a key made readable by anyone would reach a worker of another uid graded at
    the same time. After forbid_keyrings, add_key, request_key and keyctl fail with EPERM, in the process and
    in what it starts; other calls work."""
    import ctypes
    import errno

    from autograder.worker.keyrings import SYSCALLS, forbid_keyrings

    numbers = SYSCALLS[os.uname().machine]

    def work():
        if not forbid_keyrings():
            return 1
        libc = ctypes.CDLL(None, use_errno=True)
        added = libc.syscall(numbers["add_key"], b"user", b"autograder-test", b"x", 1, ctypes.c_long(-3))
        if added != -1 or ctypes.get_errno() != errno.EPERM:
            return 2
        if libc.syscall(numbers["keyctl"], 0, ctypes.c_long(-3), 0) != -1:  # KEYCTL_GET_KEYRING_ID
            return 3
        child = subprocess.run([sys.executable, "-c", f"import ctypes; print(ctypes.CDLL(None).syscall("
                                f"{numbers['request_key']}, b'user', b'x', None, 0))"], capture_output=True, text=True)
        return 0 if child.stdout.strip() == "-1" and os.getpid() > 0 else 4

    assert _in_child(work) == 0


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/proc/sysvipc/shm").exists(),
                    reason="needs root (to make objects as another uid) and System V IPC")
def test_ipc_objects_a_uid_made_and_gave_away_and_its_shm_folders_are_removed(tmp_path):
    import ctypes

    from autograder.common.ipc_objects import own_ipc_namespace, remove_ipc

    uid, key = 4271, 0x6A6A21
    libc = ctypes.CDLL(None, use_errno=True)

    def make():
        made = libc.shmget(key, 4096, 0o1666)
        perm = ctypes.create_string_buffer(512)
        if made < 0 or libc.shmctl(made, 2, perm) != 0:  # IPC_STAT
            return 1
        ctypes.c_uint32.from_buffer(perm, 4).value = 0  # the owner: root
        os.makedirs("/dev/shm/autograder-test-folder/inner", exist_ok=True)
        return 0 if libc.shmctl(made, 1, perm) == 0 else 2  # IPC_SET

    def listed() -> bool:
        return any(line.split()[0] == str(key) for line in Path("/proc/sysvipc/shm").read_text().splitlines()[1:])

    try:
        assert _in_child(make, uid) == 0
        assert listed() and Path("/dev/shm/autograder-test-folder").is_dir()
        assert _in_child(lambda: 0 if remove_ipc(uid) >= 2 else 1, uid) == 0
        assert not listed() and not Path("/dev/shm/autograder-test-folder").exists()
        # A worker started as root without bubblewrap: its own namespace, which ends with it.
        assert _in_child(lambda: 0 if own_ipc_namespace() and libc.shmget(key, 4096, 0o1600) >= 0 else 1) == 0
        assert not listed()
    finally:
        _in_child(lambda: min(remove_ipc(uid), 0), uid)
        shutil.rmtree("/dev/shm/autograder-test-folder", ignore_errors=True)


MAKE_IPC = '''
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)
for _made, _control in ((_libc.shmget(0x6a6a01, 4096, 0o1666), _libc.shmctl),  # IPC_CREAT | 0666
                        (_libc.msgget(0x6a6a02, 0o1666), _libc.msgctl),
                        (_libc.semget(0x6a6a03, 1, 0o1666), lambda i, c, b: _libc.semctl(i, 0, c, b))):
    _perm = ctypes.create_string_buffer(512)  # struct ..._ds: its ipc_perm first, the owner's uid after the key
    if _made >= 0 and _control(_made, 2, _perm) == 0:  # IPC_STAT, then IPC_SET: given away to root
        ctypes.c_uint32.from_buffer(_perm, 4).value = 0
        _control(_made, 1, _perm)
ctypes.CDLL("librt.so.1").mq_open(b"/autograder-leak", os.O_CREAT | os.O_WRONLY, 0o666, None)
for _path in ("/dev/shm/autograder-leak", "/dev/shm/autograder-leak-folder/secret"):
    try:
        os.makedirs(os.path.dirname(_path), exist_ok=True)
        open(_path, "w").write("secret")
    except OSError:
        pass  # under bubblewrap /dev/shm is the grader's, not writable
'''
FIND_IPC = '''
import ctypes, os
_left = [line for kind in ("shm", "msg", "sem") for line in open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]
         if line.split()[0] in ("6973953", "6973954", "6973955")]
_left += [p for p in ("/dev/shm/autograder-leak", "/dev/shm/autograder-leak-folder") if os.path.exists(p)]
if ctypes.CDLL("librt.so.1").mq_open(b"/autograder-leak", os.O_RDONLY) >= 0:
    _left.append("the POSIX message queue /autograder-leak")
if _left:
    raise RuntimeError("IPC objects left by another submission: " + "; ".join(_left))
'''


@pytest.mark.parametrize("bubblewrap", ["on", "off"])
@pytest.mark.skipif(not Path("/proc/sysvipc/shm").exists(), reason="no System V IPC here")
def test_ipc_objects_one_submission_makes_are_gone_for_the_next(bubblewrap, tmp_path, monkeypatch):
    from autograder.batch.run import grade_many

    if bubblewrap == "on" and sandbox.bwrap_path() is None:
        pytest.skip("bubblewrap is not installed here")
    if bubblewrap == "off" and not (os.geteuid() == 0 and sandbox.can_drop_privileges_without_bwrap()):
        pytest.skip("without bubblewrap and without a uid drop the worker runs as the grader's own user, whose IPC "
                    "objects the grader does not remove (README)")
    monkeypatch.setenv("AUTOGRADER_BWRAP", "1" if bubblewrap == "on" else "0")
    monkeypatch.setenv(sandbox.UNSAFE_ENV, "1")
    sandbox.bwrap_path.cache_clear()
    good = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
    first, second = tmp_path / "a-makes-ipc", tmp_path / "b-looks-for-it"
    for folder, code in ((first, MAKE_IPC), (second, FIND_IPC)):
        shutil.copytree(good, folder)
        append = folder / "prob5_AE.py"
        append.write_text(append.read_text() + code)
    try:
        results = grade_many([first, second], jobs=1, device="cpu", keyword="files/prob5_AE.py/imports")
    finally:
        sandbox.bwrap_path.cache_clear()
    imports = {r.submission: r.checks[0] for r in results}
    assert imports["a-makes-ipc"].passed, imports["a-makes-ipc"].feedback
    assert imports["b-looks-for-it"].passed, imports["b-looks-for-it"].feedback


def test_a_grader_whose_interpreter_is_reached_through_a_symbolic_link_still_starts_its_workers(tmp_path):
    """The venv (or checkout) reached by a link (``~/course -> /data/course``): the worker is started by that
    path, which the sandbox shows too; it had exited at start in every submission."""
    import subprocess
    import sys

    if sandbox.bwrap_path() is None:
        pytest.skip("without bubblewrap the worker sees the grader's own file system, links included")
    link = tmp_path / "venv-link"
    link.symlink_to(os.path.realpath(sys.prefix), target_is_directory=True)
    python = link / Path(sys.executable).relative_to(sys.prefix) if Path(sys.executable).is_relative_to(
        sys.prefix) else None
    if python is None or not python.exists():
        pytest.skip("the interpreter is not inside its prefix")
    good = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
    run = "import sys; from autograder.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([str(python), "-c", run, "grade", str(good), "-k", "5.4/AE/constructs"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert "1/1 points" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
