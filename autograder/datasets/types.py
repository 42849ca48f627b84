"""The values the data layer hands out: splits of images and labels, and where they came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Images as ``uint8`` of shape (N, H, W) and integer labels of shape (N,)."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: np.ndarray) -> Split:
        return Split(self.images[index], self.labels[index])


@dataclass(frozen=True)
class Provenance:
    """What was read, from where, and how the train/test split was made."""

    source: str  # "data directory" or "package"
    location: str  # a path, or the package call
    original: str  # the sizes as read, e.g. "train 20000 + test 10000"
    split: str  # how train/test were formed

    def as_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "location": self.location,
            "original": self.original,
            "split": self.split,
        }


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split
    pixel_max: int  # 255 for MNIST-like sets, 16 for scikit-learn's digits
    provenance: Provenance

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train.images.shape[1:])

    def describe(self) -> str:
        p = self.provenance
        return (
            f"{self.name}: train {len(self.train)}, test {len(self.test)} "
            f"from {p.source} {p.location} ({p.original}; {p.split})"
        )


class DataNotFound(LookupError):
    """No source holds the data set; the message names every place looked in and how to fix it."""

    def __init__(self, name: str, looked_in: list[str], hint: str):
        self.name, self.looked_in, self.hint = name, looked_in, hint
        places = "\n".join(f"  - {place}" for place in looked_in)
        super().__init__(f"data set '{name}' was not found. Looked in:\n{places}\n{hint}")
