"""A data set as an assignment declares it: its source, the classes and counts it keeps, its size and scale.

Images come out in one canonical form, float32 ``(N, C, H, W)`` scaled as
declared; labels as int64. Turning them into what a model takes (flattened, or
channels last) is done by ``as_model_input``, which transposes and never
scrambles. A source that cannot be found raises ``DataMissing``: the checks
that need it become "not gradable here", the others are graded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .catalog import data_dir_setting, dataset_spec
from .loading import load_dataset, resolve
from .types import DataNotFound, Split


class DataMissing(LookupError):
    """A declared data set is not available on this machine; the message says how to provide it."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class ImageData:
    key: str
    train_images: np.ndarray  # float32 (N, C, H, W), scaled
    train_labels: np.ndarray  # int64 (N,)
    test_images: np.ndarray
    test_labels: np.ndarray
    description: str  # where it came from and how it was split
    data_key: str  # names the data independently of the machine's paths (thresholds are stored under it)
    about: str = ""  # what the assignment says it stands for

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train_images.shape[1:])


def _to_nchw(images: np.ndarray, layout: str) -> np.ndarray:
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4:
        return images.transpose(0, 3, 1, 2) if layout == "channels_last" else images
    raise ValueError(f"images of shape {images.shape} are not (N, H, W) or (N, H, W, C)")


def _pixel_max(images: np.ndarray, catalog_max: int | None) -> float:
    if catalog_max:
        return float(catalog_max)
    if np.issubdtype(images.dtype, np.integer):
        return 255.0
    return 1.0 if float(images.max(initial=0)) <= 1.0 else 255.0


def _per_class_index(labels: np.ndarray, counts: int | None, classes: tuple[int, ...]) -> np.ndarray:
    """Positions of the first ``counts`` items of each kept class, in order."""
    keep = np.arange(len(labels))
    if classes:
        keep = keep[np.isin(labels, classes)]
    if counts:
        kept = labels[keep]
        keep = np.sort(np.concatenate([keep[kept == c][:counts] for c in np.unique(kept)]))
    return keep


def _per_class(split: Split, counts: int | None, classes: tuple[int, ...]) -> Split:
    return split.take(_per_class_index(split.labels, counts, classes))


def _official_order(spec, data_dir) -> tuple[Split, Split, str]:
    """The handout's own subset: the first ``per_class`` of each class of the source's test file as test;
    everything else (its training file and the rest of its test file) as training data."""
    catalog, source = resolve(spec.source, data_dir)
    raw = source.read()
    if set(raw.splits) != {"train", "test"}:
        raise DataNotFound(catalog.name, [f"{source.location}: no official train/test files"],
                           "The handout's own subset needs the official files (a data directory).")
    test_all = raw.splits["test"]
    chosen = _per_class_index(test_all.labels, spec.per_class.get("test"), spec.classes)
    taken = test_all.take(chosen)
    rest = test_all.take(np.setdiff1d(np.arange(len(test_all)), chosen))
    train = Split(np.concatenate([raw.splits["train"].images, rest.images]),
                  np.concatenate([raw.splits["train"].labels, rest.labels]))
    train = _per_class(train, spec.per_class.get("train"), spec.classes)
    how = (f"the handout's order: test = the first {spec.per_class.get('test')} of each class of the official test "
           f"file ({len(taken)}); train = the rest of what {source.location} holds ({len(train)})")
    return train, taken, how


def _npy_splits(spec, data_dir) -> tuple[Split, Split, str]:
    root, origin = data_dir_setting(data_dir)
    folder = (root / spec.folder) if root is not None and spec.folder else None
    names = {k: spec.files.get(k) for k in ("train_images", "train_labels", "test_images", "test_labels")}
    if folder is None or not all(names.values()) or not all((folder / n).is_file() for n in names.values()):
        where = f"{folder} ({origin})" if folder is not None else "no data directory given (--data-dir)"
        wanted = ", ".join(n for n in names.values() if n)
        raise DataMissing(spec.key, f"data set '{spec.key}' is not available here: looked in {where} for "
                                    f"{wanted}. {spec.provide}".strip())
    arrays = {k: np.load(folder / n, allow_pickle=False) for k, n in names.items()}
    return (Split(arrays["train_images"], arrays["train_labels"].astype(np.int64).reshape(-1)),
            Split(arrays["test_images"], arrays["test_labels"].astype(np.int64).reshape(-1)),
            f"the files in {folder}")


def _resize(images: np.ndarray, size) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(images))
    return F.interpolate(tensor, size=tuple(size), mode="bilinear", align_corners=False).numpy()


def _scaled(train: np.ndarray, test: np.ndarray, scale: str, pixel_max: float):
    train = train.astype(np.float32) / pixel_max
    test = test.astype(np.float32) / pixel_max
    if scale == "symmetric":
        return 2 * train - 1, 2 * test - 1
    if scale == "zscore":  # one mean and one standard deviation over every pixel of the data set
        pooled = np.concatenate([train.reshape(-1), test.reshape(-1)])
        mean, std = float(pooled.mean()), float(pooled.std())
        return (train - mean) / std, (test - mean) / std
    return train, test


def load_declared(spec, data_dir=None) -> ImageData:
    """The data set ``spec`` (a ``DataSpec``) prepared as declared; ``DataMissing`` if it is not here."""
    catalog_max = None
    try:
        if spec.source == "npy":
            train, test, how = _npy_splits(spec, data_dir)
            origin = f"{spec.key} from files: train {len(train)} + test {len(test)}"
        elif spec.split == "official-order":
            train, test, how = _official_order(spec, data_dir)
            catalog_max = dataset_spec(spec.source).pixel_max
            origin = f"{dataset_spec(spec.source).name} in the handout's order"
        else:
            dataset = load_dataset(spec.source, data_dir)
            catalog_max = dataset.pixel_max
            train = _per_class(dataset.train, spec.per_class.get("train"), spec.classes)
            test = _per_class(dataset.test, spec.per_class.get("test"), spec.classes)
            how = dataset.describe()
            origin = f"{dataset.name} from {dataset.provenance.source}: {dataset.provenance.original}"
    except DataNotFound as missing:
        how = spec.provide or missing.hint
        looked = "; ".join(missing.looked_in)
        raise DataMissing(spec.key, f"data set '{spec.key}' is not on this machine (looked in: {looked}). {how}") \
            from None
    pixel_max = _pixel_max(train.images, catalog_max)
    train_images = _to_nchw(np.asarray(train.images), spec.layout)
    test_images = _to_nchw(np.asarray(test.images), spec.layout)
    if spec.resize:
        train_images = _resize(train_images.astype(np.float32), spec.resize)
        test_images = _resize(test_images.astype(np.float32), spec.resize)
    if spec.channels and train_images.shape[1] == 1 and spec.channels > 1:
        train_images = np.repeat(train_images, spec.channels, axis=1)
        test_images = np.repeat(test_images, spec.channels, axis=1)
    train_images, test_images = _scaled(train_images, test_images, spec.scale, pixel_max)
    what = f"{spec.key}: train {len(train_images)}, test {len(test_images)}, images {train_images.shape[1:]}, " \
           f"scale {spec.scale} (from {how})"
    return ImageData(spec.key, np.ascontiguousarray(train_images, np.float32), train.labels.astype(np.int64),
                     np.ascontiguousarray(test_images, np.float32), test.labels.astype(np.int64), what,
                     origin + _transforms(spec), spec.about)


def _transforms(spec) -> str:
    """What the declaration changes in its source, for the data key ("" when nothing)."""
    parts = [f"classes {list(spec.classes)}" if spec.classes else "",
             f"per class {spec.per_class}" if spec.per_class and spec.split != "official-order" else "",
             f"official order, per class {spec.per_class}" if spec.split == "official-order" else "",
             f"resized to {list(spec.resize)}" if spec.resize else "",
             f"{spec.channels} channels" if spec.channels else "",
             f"scale {spec.scale}" if spec.scale != "unit" else ""]
    shown = "; ".join(p for p in parts if p)
    return f" [{shown}]" if shown else ""


def as_model_input(images: np.ndarray, shape: tuple[int, ...], layout: str = "channels_first") -> np.ndarray:
    """Canonical (N, C, H, W) images as a model takes them: ``shape`` per example, channels where
    ``layout`` says; a shape with fewer dimensions gets the image flattened (in that layout's order)."""
    n = len(images)
    arranged = images if layout == "channels_first" else images.transpose(0, 2, 3, 1)
    if len(shape) == 3:
        if tuple(arranged.shape[1:]) != tuple(shape):
            raise ValueError(f"images of shape {tuple(arranged.shape[1:])} ({layout}) cannot be given as "
                             f"{tuple(shape)}")
        return np.ascontiguousarray(arranged)
    if int(np.prod(shape)) != int(np.prod(images.shape[1:])):
        raise ValueError(f"images of {int(np.prod(images.shape[1:]))} values cannot be given as {tuple(shape)}")
    return np.ascontiguousarray(arranged.reshape(n, *shape))


def data_dir_exists(data_dir) -> bool:
    root, _ = data_dir_setting(data_dir)
    return root is not None and Path(os.fspath(root)).is_dir()
