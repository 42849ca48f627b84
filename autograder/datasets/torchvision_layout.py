"""Write a torchvision-layout copy of the data sets, so that unmodified student code calling
``torchvision.datasets.MNIST(root=ROOT, train=True, download=True)`` runs with no network.

torchvision looks for the decompressed IDX files in ``ROOT/<Class>/raw/`` and
downloads nothing when they are there. The copy holds the data layer's
train/test split (for a source with one split, the deterministic split).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..common.idx import write_idx
from .catalog import DATASETS
from .loading import load_dataset
from .types import DataNotFound


@dataclass(frozen=True)
class PreparedCopy:
    name: str
    folder: Path | None  # None when the data set could not be found
    sizes: str
    note: str  # the data's provenance, or why it was skipped


def _write_split(folder: Path, prefix: str, images, labels) -> None:
    write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels.astype("uint8"))


STAND_IN = "STAND-IN.txt"  # in a class folder whose files hold another data set


def prepare_torchvision_root(root: str | os.PathLike, data_dir=None, names=None) -> list[PreparedCopy]:
    """Write ``root/<Class>/raw/*-ubyte`` for every data set torchvision reads (or ``names``)."""
    prepared = []
    for spec in DATASETS.values():
        if spec.torchvision_class is None or (names and spec.name not in names):
            continue
        stand_in = None
        try:
            dataset = load_dataset(spec.name, data_dir)
        except DataNotFound as missing:
            if spec.stand_in is None:
                prepared.append(PreparedCopy(spec.name, None, "", str(missing).splitlines()[0]))
                continue
            try:  # student code that loads it still runs, on a stand-in that says what it is
                dataset, stand_in = load_dataset(spec.stand_in, data_dir), spec.stand_in
            except DataNotFound:
                prepared.append(PreparedCopy(spec.name, None, "", str(missing).splitlines()[0]))
                continue
        folder = Path(root) / spec.torchvision_class / "raw"
        folder.mkdir(parents=True, exist_ok=True)
        if stand_in:
            (folder.parent / STAND_IN).write_text(f"{spec.name} is not on this machine, so loading it gave "
                                                  f"{stand_in} instead, to let the code run\n")
        _write_split(folder, "train", dataset.train.images, dataset.train.labels)
        _write_split(folder, "t10k", dataset.test.images, dataset.test.labels)
        note = f"a stand-in: {dataset.describe()}" if stand_in else dataset.describe()
        prepared.append(PreparedCopy(spec.name, folder, f"train {len(dataset.train)}, test {len(dataset.test)}", note))
    return prepared
