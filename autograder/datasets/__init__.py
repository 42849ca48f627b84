"""Offline data sets by name: a data directory first, then what packages ship, else a clear error."""

from .catalog import DATA_DIR_ENV, DATASETS, dataset_spec
from .loading import clear_memory_cache, load_dataset, resolve
from .types import DataNotFound, Dataset, Provenance, Split

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "DataNotFound",
    "Dataset",
    "Provenance",
    "Split",
    "clear_memory_cache",
    "dataset_spec",
    "load_dataset",
    "resolve",
]
