"""System V IPC objects and POSIX shared memory a uid left behind, removed.

Shared memory segments, message queues and semaphores outlive the process that
made them, and so do the files of ``/dev/shm`` and ``/dev/mqueue`` (POSIX
message queues, listed there where the sandbox mounts it): in a warm template's
IPC namespace, or the host's without bubblewrap, what one submission made would
be read by the next under the same uid (and its memory stay charged). Each
worker removes what its uid made or owns before any student code runs (an
object's owner can give it away with ``IPC_SET``, its creator stays), and the
grader removes what the worker's uid left when it ends. A worker started as
root without bubblewrap also gets an IPC namespace of its own, which ends with
it. Linux only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
from pathlib import Path

IPC_RMID = 0
CLONE_NEWIPC = 0x08000000
KINDS = {"shm": "shmid", "msg": "msqid", "sem": "semid"}
FOLDERS = (Path("/dev/shm"), Path("/dev/mqueue"))


def _objects(kind: str, uid: int) -> list[int]:
    """Ids of the ``kind`` objects of the IPC namespace made or owned by ``uid``."""
    try:
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
    except OSError:
        return []
    if not lines:
        return []
    header = lines[0].split()
    try:
        ident, owner, creator = header.index(KINDS[kind]), header.index("uid"), header.index("cuid")
    except ValueError:
        return []
    found = []
    for line in lines[1:]:
        fields = line.split()
        with contextlib.suppress(IndexError, ValueError):
            if uid in (int(fields[owner]), int(fields[creator])):
                found.append(int(fields[ident]))
    return found


def remove_ipc(uid: int) -> int:
    """Remove every System V object ``uid`` made or owns and every /dev/shm or /dev/mqueue file or folder it owns;
    how many were removed."""
    if os.name != "posix":
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    removed = 0
    for kind in KINDS:
        for ident in _objects(kind, uid):
            if kind == "shm":
                done = libc.shmctl(ident, IPC_RMID, None)
            elif kind == "msg":
                done = libc.msgctl(ident, IPC_RMID, None)
            else:
                done = libc.semctl(ident, 0, IPC_RMID, 0)
            removed += done == 0
    for folder in FOLDERS:
        with contextlib.suppress(OSError):
            for entry in folder.iterdir():
                with contextlib.suppress(OSError):
                    if entry.lstat().st_uid == uid:
                        _remove(entry)
                        removed += 1
    return removed


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def own_ipc_namespace() -> bool:
    """Move this process into a new, empty IPC namespace (root only: CAP_SYS_ADMIN); True when it did."""
    if os.name != "posix":
        return False
    return ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWIPC) == 0
