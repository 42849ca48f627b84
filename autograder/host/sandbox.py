"""How a worker process is started, confined and stopped.

Always:
  * its own session, so the whole process group is killed at once;
  * an environment written from scratch (host/client.py);
  * resource limits: CPU seconds, size of any file written, open files, no core
    dumps, and address space on the CPU (CUDA needs a huge virtual space);
  * a wall-clock limit on every call (host/client.py).

With bubblewrap (``bwrap``, Debian package ``bubblewrap``):
  * a filesystem built from an allowlist: system directories, the Python
    installation and the ``autograder`` package, read-only; the submission's
    files read-only at ``/submission-src``, copied by the worker into a
    size-capped tmpfs ``/submission`` where the student's code runs. The
    answer key, hidden checks, other submissions, the results directory and
    every home directory are simply not there;
  * new PID, network (loopback only), IPC and UTS namespaces;
  * when the grader runs as root, the worker drops to an unprivileged uid
    before any student code runs, so a process-count limit applies to it.

Without bubblewrap, when the grader runs as root and the Python installation
is readable by everyone, the worker still drops to the unprivileged uid. What
is missing is said once (``describe_protection``).
"""

from __future__ import annotations

import functools
import glob
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import autograder

from .cgroups import Cgroup

SANDBOX_WORKDIR = "/submission"
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc", "/sys")
SANDBOX_SOURCE = "/submission-src"


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 1800
    file_bytes: int = 256 * 1024 * 1024  # any single file the worker writes
    open_files: int = 512
    address_space_bytes: int = 16 * 1024**3  # CPU only
    processes: int = 256  # for the unprivileged uid (threads count too)
    tasks: int = 512  # processes and threads of the worker and all it starts, together (a cgroup, where possible)
    memory_bytes: int = 16 * 1024**3  # resident memory of the worker and all it starts, together (the same cgroup)
    cpus: float | None = None  # cores' worth of CPU time for all of them (the same cgroup): the worker's share
    workdir_bytes: int = 1024 * 1024**2  # the tmpfs the student's code runs in (bubblewrap)
    uid: int = 65534  # "nobody"; concurrent workers take the uids below it, one each (the process limit is
    # per uid: a fork bomb in one must not starve the others)


class UidClaim:
    """An unprivileged uid that no other worker on this machine holds while this claim is open.

    A uid's user keyrings, its IPC objects and its process limit are shared by every process of that uid, so
    two workers, of this grader or of another grading the same machine at the same time, must never share
    one: each holds an exclusive lock on its uid's file (in a folder only the grader's user can write) for
    as long as it lives, and a uid already held is passed over for the next one below. What the uid's
    last holder left is cleared by the next worker before any student code runs (worker/keyrings.py, the
    IPC cleanup), so reusing a uid later is safe; using it at the same time is what the lock prevents.
    """

    LOWEST = 65534 - 4096

    def __init__(self, preferred: int, folder: Path | None = None):
        import fcntl

        folder = folder or _uid_lock_folder()
        self.uid, self._fd = preferred, None
        if folder is None:  # no private folder to lock in: the slot's own uid, as before
            return
        for uid in range(preferred, self.LOWEST, -1):
            fd = os.open(folder / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            return
        raise RuntimeError(f"every uid from {preferred} down to {self.LOWEST} is held by another worker")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _uid_lock_folder() -> Path | None:
    """``/run/lock/autograder-uids`` (or the same under the temporary folder), made private to the grader's
    user; None when it cannot be (another user owns it)."""
    base = Path("/run/lock") if os.access("/run/lock", os.W_OK) else Path(tempfile.gettempdir())
    folder = base / f"autograder-uids-{os.geteuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    return folder if info.st_uid == os.geteuid() and not info.st_mode & 0o077 else None


@functools.cache
def bwrap_path() -> str | None:
    """bubblewrap, if it is installed, can make namespaces here, and is not switched off
    (``AUTOGRADER_BWRAP=0``)."""
    if os.environ.get("AUTOGRADER_BWRAP", "1") == "0":
        return None
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--unshare-all", "--ro-bind", "/", "/", "--", "/bin/true"], capture_output=True)
    return path if probe.returncode == 0 else None


def _world_accessible(path: Path) -> bool:
    """Every directory on the way is searchable, and the path readable, by any user."""
    path = path.resolve()
    for parent in [path, *path.parents]:
        try:
            mode = parent.stat().st_mode
        except OSError:
            return False
        if not mode & 0o001 or (parent == path and not mode & 0o004):
            return False
    return True


def python_paths() -> list[Path]:
    """What the worker's interpreter needs: its installation and the package folders on the import path.

    Only folders that hold installed packages are bound: the interpreter's prefixes and ``site-packages`` or
    ``dist-packages`` folders. Other entries of ``sys.path`` (the folder of the script that started the grader,
    a test folder, the current folder, a source checkout holding ``autograder/`` and ``reference/``) are left
    out: binding ``/tmp`` because a script ran from there would show the worker every submission being graded.
    The ``autograder`` package itself is bound separately.
    """
    checkout = Path(autograder.__file__).resolve().parent.parent
    prefixes = [Path(os.path.realpath(p)) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix) if p]
    candidates = [*prefixes, Path(sys.executable).parent, Path(os.path.realpath(sys.executable)).parent]
    for entry in sys.path:
        if entry and Path(entry).is_dir():
            real = Path(os.path.realpath(entry))
            if real.name in ("site-packages", "dist-packages") or any(real.is_relative_to(p) for p in prefixes):
                candidates.append(real)
    paths = set()
    for entry in candidates:
        real = Path(os.path.realpath(entry))
        if real.is_dir() and real != checkout and real != Path("/"):
            paths.add(real)
    for path in list(paths):  # a venv's site-packages is inside its prefix: keep the outermost only
        if any(other != path and path.is_relative_to(other) for other in paths):
            paths.discard(path)
    return sorted(paths)


def symlinked_paths() -> list[tuple[Path, Path]]:
    """(real folder, the path it is reached by) for the interpreter's folders reached through a symbolic link
    (a venv in a symlinked checkout: ``/home/me/course -> /data/course``): the worker is started by that path,
    so the sandbox shows the real folder there too."""
    pairs = set()
    for entry in (sys.prefix, sys.exec_prefix, os.path.dirname(sys.executable)):
        seen = Path(os.path.abspath(entry))
        real = Path(os.path.realpath(entry))
        if seen != real and real.is_dir() and not any(seen.is_relative_to(s) for s in SYSTEM_DIRS):
            pairs.add((real, seen))
    return sorted(p for p in pairs if not any(p != o and p[1].is_relative_to(o[1]) for o in pairs))


@functools.cache
def answer_keys_within(path: Path, depth: int = 4) -> list[Path]:
    """This project's answer key (a ``reference`` package holding ``*/assignment.toml``) anywhere in ``path`` up
    to ``depth`` folders down (``lib/python3.X/site-packages/reference``): the worker must not see it."""
    found = []
    for level in range(depth + 1):
        for candidate in path.glob("/".join(["*"] * level + ["reference"])) if level else [path / "reference"]:
            if candidate.is_dir() and (candidate / "__init__.py").is_file() and any(
                    candidate.glob("*/assignment.toml")):
                found.append(candidate)
    return found


def can_drop_privileges_without_bwrap() -> bool:
    return os.geteuid() == 0 and all(_world_accessible(p) for p in python_paths())


UNSAFE_ENV = "AUTOGRADER_UNSAFE"  # "1": run student code as root with no sandbox (code you trust only)


class SandboxRefused(RuntimeError):
    """Student code would run as root with nothing in between: refused unless asked for explicitly."""


def refusal(with_bwrap: bool | None = None) -> str | None:
    """Why student code cannot be run safely here (``with_bwrap``: whether bubblewrap is used; default: whether
    it is available), or None. As root, the worker must either run under bubblewrap or drop to an unprivileged
    uid; with neither it could read the grader's memory and environment, signal it, and write its results."""
    with_bwrap = bwrap_path() is not None if with_bwrap is None else with_bwrap
    if os.geteuid() != 0 or with_bwrap or can_drop_privileges_without_bwrap():
        return None
    if os.environ.get(UNSAFE_ENV) == "1":
        return None
    return ("refusing to run student code as root without a sandbox: bubblewrap is not available here and the "
            "Python installation is not readable by other users, so the worker could not drop root's "
            "privileges. Install bubblewrap (apt-get install bubblewrap; scripts/install-sandbox.sh), or run the "
            f"grader as an ordinary user, or set {UNSAFE_ENV}=1 to grade anyway (only code you trust)")


def describe_protection(device: str = "cpu") -> list[str]:
    """One line per protection that is missing on this machine (empty when all are in place)."""
    missing = []
    if bwrap_path() is None:
        missing.append("bubblewrap (apt-get install bubblewrap) is not available: the student's code can read "
                       "any file this user can read (the answer key, other submissions) and open network "
                       "connections; only process limits and time limits apply")
        if os.geteuid() == 0 and not can_drop_privileges_without_bwrap():
            missing.append("running as root with a Python installation other users cannot read: the worker "
                           "keeps root's uid, so it could signal any process")
        elif os.geteuid() != 0:
            missing.append("not running as root: the worker runs as this user, so it could signal the "
                           "grader's own processes")
    if device.startswith("cuda"):
        missing.append("on a GPU the address-space limit is not applied (CUDA reserves a large virtual space)")
    return missing


@dataclass
class Launcher:
    """Starts a command as a confined worker, and kills it with everything it started."""

    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"
    readable: list[Path] = field(default_factory=list)  # extra read-only paths (the torchvision copy)
    use_bwrap: bool = True
    template: bool = False  # a warm template (worker/zygote.py): stays root in its sandbox, limits its workers

    def __post_init__(self):
        self.bwrap = bwrap_path() if self.use_bwrap else None
        self._work: Path | None = None  # without bubblewrap: the worker's own copy of the submission and its tmp
        self._cgroup: Cgroup | None = None
        if (why := refusal(with_bwrap=self.bwrap is not None)) is not None:
            raise SandboxRefused(why)
        self.drop_uid = None
        if os.geteuid() == 0 and (self.bwrap or can_drop_privileges_without_bwrap()):
            self.drop_uid = self.limits.uid

    # ------------------------------------------------------------ the command

    def worker_settings(self) -> dict:
        """What the worker itself must do before any student code: copy its files in, drop its uid."""
        settings = {"drop_uid": self.drop_uid, "processes": self.limits.processes}
        if self.bwrap:
            settings.update(copy_from=SANDBOX_SOURCE, workdir=SANDBOX_WORKDIR)
        return settings

    def _bwrap_command(self, command: list[str], scratch: Path) -> list[str]:
        args = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
                "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
        if os.geteuid() != 0:
            args.append("--unshare-user")
        elif self.drop_uid is not None:
            # Root keeps every capability in bubblewrap unless told otherwise: only what dropping the uid needs.
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            if self.template:  # to kill whatever its workers left in its PID namespace
                args += ["--cap-add", "CAP_KILL"]
        for system in SYSTEM_DIRS:
            args += ["--ro-bind-try", system, system]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
        args += ["--tmpfs", "/dev/shm", "--mqueue", "/dev/mqueue"]  # POSIX queues listed, for the IPC cleanup
        made: set[Path] = set()
        bound = [(path, path) for path in [*python_paths(), Path(autograder.__file__).resolve().parent,
                                           *self.readable]]
        for real, seen in [*bound, *symlinked_paths()]:  # the interpreter by the path it was started with, too
            for parent in reversed(seen.parents[:-1]):  # searchable by the unprivileged uid (e.g. /root)
                if parent not in made and not any(parent.is_relative_to(s) for s in SYSTEM_DIRS):
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            args += ["--ro-bind", str(real), str(seen)]
            for hidden in answer_keys_within(real):  # a regular install puts the answer key in site-packages
                args += ["--tmpfs", str(seen / hidden.relative_to(real))]
        if self.device.startswith("cuda"):
            for node in sorted(glob.glob("/dev/nvidia*")):
                args += ["--dev-bind", node, node]
            for path in ("/usr/local/nvidia", "/usr/local/cuda"):
                args += ["--ro-bind-try", path, path]
        args += ["--ro-bind", str(scratch), SANDBOX_SOURCE,
                 "--perms", "0777", "--size", str(self.limits.workdir_bytes), "--tmpfs", SANDBOX_WORKDIR,
                 "--chdir", SANDBOX_WORKDIR, "--setenv", "HOME", SANDBOX_WORKDIR, "--"]
        return args + command

    def _limit(self):
        """Runs in the child before exec: resource limits (inherited by bwrap's child and the worker)."""
        limits = self.limits
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 30))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if self._cgroup is not None:
            self._cgroup.enter()
        if self.drop_uid is not None and not self.template:  # a template sets it in each worker it forks
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        if not self.device.startswith("cuda"):
            resource.setrlimit(resource.RLIMIT_AS, (limits.address_space_bytes, limits.address_space_bytes))

    def popen(self, command, *, cwd, env, pass_fds, stdout, stderr) -> subprocess.Popen:
        scratch = Path(cwd)
        if self.bwrap:
            command = self._bwrap_command(list(command), scratch)
        else:
            # The worker runs in its own copy: what it writes never reaches the grader's copy, which the checks
            # read. Its temporary files (a notebook kernel's sockets...) lie beside, removed with them.
            self._remove_work()  # a restarted worker starts from the submission again
            self._work = Path(tempfile.mkdtemp(prefix="autograder-worker-"))
            own, tmp = self._work / "submission", self._work / "tmp"
            shutil.copytree(scratch, own, symlinks=True)
            tmp.mkdir(mode=0o700)
            env, cwd = {**env, "TMPDIR": str(tmp), "HOME": str(own)}, own
            if self.drop_uid is not None:
                self._work.chmod(0o711)  # passable, not listable nor writable
                for folder in (own, tmp):
                    _give_to(folder, self.drop_uid)
        self._remove_cgroup()
        self._cgroup = Cgroup.create(memory_bytes=self.limits.memory_bytes, tasks=self.limits.tasks,
                                     cpus=self.limits.cpus)
        return subprocess.Popen(
            command, cwd=cwd, env=env, pass_fds=pass_fds, stdin=subprocess.DEVNULL,
            stdout=stdout, stderr=stderr, start_new_session=True, preexec_fn=self._limit,
        )  # fmt: skip

    def kill(self, process: subprocess.Popen) -> None:
        """The worker, and everything it started: its process group, and where there is one, its cgroup (which
        holds also what left the group: new sessions, double forks)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._remove_cgroup()
        self._remove_work()
        if self.bwrap is None and self.drop_uid is not None:  # the host's IPC namespace: what the worker's uid left
            from ..common.ipc_objects import remove_ipc

            remove_ipc(self.drop_uid)

    def _remove_cgroup(self) -> None:
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None

    def _remove_work(self) -> None:
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None


def _give_to(folder: Path, uid: int) -> None:
    """Let the unprivileged worker own its copy of the submission when there is no bubblewrap."""
    for path in [folder, *folder.rglob("*")]:
        try:
            os.chown(path, uid, uid, follow_symlinks=False)
        except OSError:
            pass
