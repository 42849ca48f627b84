"""`autograder data prepare ROOT`: unmodified student code calling torchvision with download=True runs offline."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest

from autograder.datasets import load_dataset
from autograder.datasets.catalog import DATASETS
from autograder.datasets.torchvision_layout import STAND_IN, prepare_torchvision_root
from tests.conftest import ROOT, data_sources

# Run before the student code in the child process: any connection attempt fails loudly.
NO_NETWORK = textwrap.dedent(
    """
    import socket
    def _refuse(*args, **kwargs):
        raise OSError("network access attempted during an offline test")
    socket.socket.connect = _refuse
    socket.create_connection = _refuse
    """
)

STUDENT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from torchvision import datasets
    root = sys.argv[1]
    train = datasets.MNIST(root=root, train=True, download=True)
    test = datasets.MNIST(root=root, train=False, download=True)
    print(json.dumps([len(train), len(test), list(train.data.shape[1:]), train.targets[:20].tolist()]))
    """
)


def run_offline(code: str, *args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK + code, *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=timeout,
    )  # fmt: skip


@pytest.mark.parametrize("data_dir", data_sources())
def test_student_torchvision_code_reads_the_prepared_copy_offline(tmp_path, fresh_cache, data_dir):
    prepared = {copy.name: copy for copy in prepare_torchvision_root(tmp_path / "data", data_dir)}
    assert prepared["mnist"].folder == tmp_path / "data" / "MNIST" / "raw"
    assert (prepared["mnist"].folder / "train-images-idx3-ubyte").is_file()

    result = run_offline(STUDENT_SCRIPT, tmp_path / "data")
    assert result.returncode == 0, result.stderr
    n_train, n_test, shape, first_labels = json.loads(result.stdout.strip().splitlines()[-1])
    mnist = load_dataset("mnist", data_dir)
    assert (n_train, n_test, shape) == (len(mnist.train), len(mnist.test), [28, 28])
    assert first_labels == mnist.train.labels[:20].tolist()


def test_the_offline_guard_really_blocks_downloads(tmp_path):
    """Without a prepared copy torchvision tries to download, and the guard stops it."""
    result = run_offline(STUDENT_SCRIPT, tmp_path / "empty")
    assert result.returncode != 0
    assert "network access attempted" in result.stderr or "Error downloading" in result.stderr


def test_a_missing_data_set_is_served_by_its_stand_in_which_says_so(tmp_path, fresh_cache):
    """Fashion-MNIST is not in any package: student code that loads it runs on MNIST, labelled as such."""
    prepared = {copy.name: copy for copy in prepare_torchvision_root(tmp_path)}
    fashion = prepared["fashion-mnist"]
    assert fashion.note.startswith("a stand-in: ")
    assert (fashion.folder / "train-images-idx3-ubyte").is_file()
    assert "fashion-mnist is not on this machine" in (tmp_path / "FashionMNIST" / STAND_IN).read_text()
    assert not (tmp_path / "MNIST" / STAND_IN).exists()


def test_data_sets_that_are_missing_with_no_stand_in_are_reported_not_fatal(tmp_path, fresh_cache, monkeypatch):
    spec = DATASETS["fashion-mnist"]
    monkeypatch.setitem(DATASETS, "fashion-mnist", dataclasses.replace(spec, stand_in=None))
    prepared = {copy.name: copy for copy in prepare_torchvision_root(tmp_path)}
    assert prepared["fashion-mnist"].folder is None
    assert "'fashion-mnist' was not found" in prepared["fashion-mnist"].note
    assert not (tmp_path / "FashionMNIST").exists()
    assert prepared["mnist"].folder is not None


def test_cli_prepare_prints_what_it_wrote(tmp_path, fresh_cache):
    result = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "data", "prepare", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"mnist          {tmp_path}/MNIST/raw  train 4000, test 1000" in result.stdout
    assert f"fashion-mnist  {tmp_path}/FashionMNIST/raw" in result.stdout
    assert "a stand-in: " in result.stdout
