"""An on-disk cache of prepared data sets: plain ``.npy`` arrays (no pickle) and a JSON provenance.

The key is the source's fingerprint (paths, sizes, modification times, package
versions) plus the version of the split rule, so a changed source or rule is
never served from a stale entry. Writes go to a temporary folder renamed into
place, so a crash never leaves half an entry.

An entry is made read-only, and its arrays' SHA-256 digests are kept in its
provenance file and checked on every load: an entry changed since it was
written (a damaged disk, or a process that could write it) is removed and
rebuilt from the source, never used for held-out labels. The cache lies in the
grader's home, which a sandboxed worker cannot see, and a worker dropped to an
unprivileged uid cannot write. Where the worker runs as the grader's own user
with no sandbox (a student's laptop), it could rewrite an entry and its digests
together: the README's threat model says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..common.folders import make_read_only, remove_tree
from .types import Dataset, Provenance, Split

_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


def cache_root() -> Path:
    """``$AUTOGRADER_CACHE_DIR``, else ``$XDG_CACHE_HOME/autograder``, else ``~/.cache/autograder``."""
    if os.environ.get("AUTOGRADER_CACHE_DIR"):
        return Path(os.environ["AUTOGRADER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "autograder"


def _entry(key: str) -> Path:
    return cache_root() / "datasets" / key


def load_cached(key: str) -> Dataset | None:
    """The cached data set, or None; an entry that cannot be read is removed so it is rebuilt."""
    entry = _entry(key)
    if not entry.is_dir():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text())
        if any(digest(entry / f"{name}.npy") != meta["sha256"][name] for name in _ARRAYS):
            raise ValueError("an array is not what was written")
        arrays = {name: np.load(entry / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
    except (OSError, ValueError, KeyError, TypeError):
        remove_tree(entry)
        return None
    return Dataset(
        name=meta["name"],
        train=Split(arrays["train_images"], arrays["train_labels"]),
        test=Split(arrays["test_images"], arrays["test_labels"]),
        pixel_max=meta["pixel_max"],
        provenance=Provenance(**meta["provenance"]),
    )


def store(key: str, dataset: Dataset) -> None:
    """Write ``dataset`` under ``key``; a cache that cannot be written is skipped silently."""
    entry = _entry(key)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=entry.parent, prefix=f".{key}-"))
        arrays = {
            "train_images": dataset.train.images,
            "train_labels": dataset.train.labels,
            "test_images": dataset.test.images,
            "test_labels": dataset.test.labels,
        }
        for name, array in arrays.items():
            np.save(staging / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        meta = {
            "name": dataset.name,
            "pixel_max": dataset.pixel_max,
            "provenance": dataset.provenance.as_dict(),
            "sha256": {name: digest(staging / f"{name}.npy") for name in arrays},
        }
        (staging / "meta.json").write_text(json.dumps(meta, indent=1))
        make_read_only(staging)
        try:
            staging.rename(entry)
        except OSError:  # another process stored it first
            remove_tree(staging)
    except OSError:
        return


def digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
