"""Folders made read-only, and removed or emptied however their owner left their permissions.

Used on both sides of the sandbox: the grader makes its data copies and cache entries read-only and removes
them; a warm template (``worker/zygote.py``) empties the folder a worker ran in, as the worker's uid.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def make_read_only(folder: Path) -> None:
    """Files 0444, folders 0555, the folder itself last."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if not path.is_symlink():
            path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


def _make_passable(folder: Path) -> None:
    """``folder`` and every folder under it readable, writable and enterable by their owner, top-down: each is
    made so before it is opened (a folder left with mode 0 could not be listed). Links are never followed."""
    _owner_may_enter(folder)
    for top, names, _ in os.walk(folder):
        for name in names:
            if not os.path.islink(os.path.join(top, name)):
                _owner_may_enter(os.path.join(top, name))


def _owner_may_enter(path) -> None:
    try:
        os.chmod(path, 0o755)
    except OSError:  # not its owner: it stays as it is
        pass


def remove_tree(folder: Path) -> None:
    """``shutil.rmtree`` of a folder, read-only or with unreadable folders inside."""
    if not folder.is_dir() or folder.is_symlink():
        return
    _make_passable(folder)
    shutil.rmtree(folder, ignore_errors=True)


def empty(folder: Path) -> bool:
    """Remove everything in ``folder``, which stays as it is; True when nothing is left."""
    for path in list(folder.iterdir()):
        if path.is_dir() and not path.is_symlink():
            remove_tree(path)
        else:
            try:
                path.unlink()
            except OSError:
                pass
    return not any(folder.iterdir())
