"""``load_dataset(name)``: resolve a source, split deterministically, cache, and report provenance."""

from __future__ import annotations

import os

from . import cache
from .catalog import DATA_DIR_ENV, DatasetSpec, candidate_sources, dataset_spec
from .splits import SPLIT_RULE_VERSION, make_train_test
from .types import DataNotFound, Dataset, Provenance

_memory: dict[str, Dataset] = {}


def resolve(name: str, data_dir: str | os.PathLike | None = None):
    """Return ``(spec, source)``: the first available source of data set ``name``.

    Raises ``DataNotFound`` naming every place looked in and how to provide the data.
    """
    spec = dataset_spec(name)
    sources, looked_in = candidate_sources(spec, data_dir)
    for source in sources:
        reason = source.unavailable_reason()
        if reason is None:
            return spec, source
        looked_in.append(reason)
    raise DataNotFound(spec.name, looked_in, _how_to_provide(spec))


def _how_to_provide(spec: DatasetSpec) -> str:
    if not spec.folders:
        return f"Install the package that ships {spec.name}."
    folder = spec.folders[0]
    return (
        f"To provide it, put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        f"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in DIR/{folder}/ "
        f"and pass --data-dir DIR or set {DATA_DIR_ENV}=DIR."
    )


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """The data set ``name`` ("mnist", "fashion-mnist", "digits") with its train/test split.

    The first load reads and splits the source and stores the result in the
    on-disk cache; later loads, in this process or another, come from the cache.
    """
    spec, source = resolve(name, data_dir)
    key = f"{spec.name}-{source.fingerprint()}-split{SPLIT_RULE_VERSION}"
    if key in _memory:
        return _memory[key]
    dataset = cache.load_cached(key)
    if dataset is None:
        raw = source.read()
        train, test, how = make_train_test(raw)
        provenance = Provenance(source.kind, source.location, raw.describe(), how)
        dataset = Dataset(spec.name, train, test, spec.pixel_max, provenance)
        cache.store(key, dataset)
    _memory[key] = dataset
    return dataset


def clear_memory_cache() -> None:
    """Forget data sets held in this process (the on-disk cache stays)."""
    _memory.clear()
