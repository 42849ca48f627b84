"""The data sets the grader knows, and the order in which their sources are tried.

Order: the data directory (``--data-dir``, else ``$AUTOGRADER_DATA_DIR``), then
what packages ship. The directory layout is that of ``../shared/data``
(``mnist/``, ``fashion-mnist/``); a torchvision root (``MNIST/raw/``) works too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .sources import IdxDirectory, MlxtendMnist, SklearnDigits

DATA_DIR_ENV = "AUTOGRADER_DATA_DIR"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    pixel_max: int
    folders: tuple[str, ...] = ()  # where to look inside a data directory
    packages: tuple = ()  # package sources, in order
    torchvision_class: str | None = None  # the torchvision.datasets class that reads it
    aliases: tuple[str, ...] = field(default=())
    stand_in: str | None = None  # what student code that loads it reads when it is missing (so the code runs)


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "mnist",
            pixel_max=255,
            folders=("mnist", "MNIST/raw"),
            packages=(MlxtendMnist(),),
            torchvision_class="MNIST",
        ),
        DatasetSpec(
            "fashion-mnist",
            pixel_max=255,
            folders=("fashion-mnist", "FashionMNIST/raw"),
            torchvision_class="FashionMNIST",
            aliases=("fashion_mnist", "fashionmnist"),
            stand_in="mnist",
        ),
        DatasetSpec("digits", pixel_max=16, packages=(SklearnDigits(),), aliases=("sklearn-digits",)),
    )
}


def dataset_spec(name: str) -> DatasetSpec:
    key = name.lower()
    for spec in DATASETS.values():
        if key == spec.name or key in spec.aliases:
            return spec
    raise KeyError(f"unknown data set '{name}'; known: {', '.join(DATASETS)}")


def data_dir_setting(data_dir: str | os.PathLike | None) -> tuple[Path | None, str]:
    """The data directory in force and how it was given."""
    if data_dir is not None:
        return Path(data_dir), "--data-dir"
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]), f"${DATA_DIR_ENV}"
    return None, ""


def candidate_sources(spec: DatasetSpec, data_dir: str | os.PathLike | None) -> tuple[list, list[str]]:
    """Sources to try in order, plus notes on places that were not even candidates."""
    root, origin = data_dir_setting(data_dir)
    sources: list = []
    notes: list[str] = []
    if root is None:
        notes.append(f"data directory: none given (--data-dir or ${DATA_DIR_ENV})")
    elif spec.folders:
        sources.append(IdxDirectory(root, spec.folders, origin))
    sources.extend(spec.packages)
    if not spec.packages:
        notes.append(f"packages: none ships {spec.name}")
    return sources, notes
