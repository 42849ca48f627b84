"""Data set loads, cold (nothing cached) and warm (from the on-disk cache, as a new process would)."""

from __future__ import annotations

import itertools

import pytest

from autograder import datasets
from tests.conftest import data_sources

SOURCES = data_sources()


@pytest.mark.parametrize("data_dir", SOURCES)
def test_bench_mnist_load_cold(benchmark, tmp_path, monkeypatch, data_dir):
    counter = itertools.count()

    def empty_caches():
        monkeypatch.setenv("AUTOGRADER_CACHE_DIR", str(tmp_path / f"cold{next(counter)}"))
        datasets.clear_memory_cache()

    mnist = benchmark.pedantic(datasets.load_dataset, args=("mnist", data_dir), setup=empty_caches, rounds=3)
    assert len(mnist.test) > 0


@pytest.mark.parametrize("data_dir", SOURCES)
def test_bench_mnist_load_warm(benchmark, tmp_path, monkeypatch, data_dir):
    monkeypatch.setenv("AUTOGRADER_CACHE_DIR", str(tmp_path / "warm"))
    datasets.clear_memory_cache()
    datasets.load_dataset("mnist", data_dir)

    def new_process():
        datasets.clear_memory_cache()

    mnist = benchmark.pedantic(datasets.load_dataset, args=("mnist", data_dir), setup=new_process, rounds=10)
    assert len(mnist.test) > 0
    datasets.clear_memory_cache()
