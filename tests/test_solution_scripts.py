"""The reference solutions run as a student runs them: `python prob*.py`, torchvision download=True, offline."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from autograder.datasets.torchvision_layout import prepare_torchvision_root
from tests.test_torchvision_layout import NO_NETWORK


@pytest.fixture(scope="module")
def torchvision_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    prepare_torchvision_root(root, names=("mnist",))  # the package source: no data dir needed
    return root


def run_script(path, cwd, *args):
    code = NO_NETWORK + f"import runpy, sys; sys.argv = {[path.name, *map(str, args)]!r}; " \
        f"runpy.run_path({str(path)!r}, run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, args, outputs",
    [
        (
            "prob4_CNN.py",
            ["--epochs", "1", "--n-test", "500"],
            ["prob4_CNN.png", "prob4_confusion_matrix.png", "mnist_cnn.pt"],
        ),
        ("prob5_AE.py", ["--epochs", "1"], ["mnist_ae.pt"]),
        ("prob6_CAE.py", ["--epochs", "1", "--model", "skip"], ["mnist-cae-skip.pt"]),
        ("prob6_CAE.py", ["--epochs", "1", "--model", "cae", "--noise-std", "0.3"], ["mnist_cae-denoise.pt"]),
    ],
    ids=["prob4", "prob5", "prob6-skip", "prob6-denoise"],
)
def test_solution_script_trains_and_saves_offline(cpsc663, torchvision_root, tmp_path, script, args, outputs):
    result = run_script(cpsc663.paths["solution"] / script, tmp_path, "--data", torchvision_root, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in outputs:
        assert (tmp_path / name).stat().st_size > 0, name
    weights = [tmp_path / name for name in outputs if name.endswith(".pt")]
    state = torch.load(weights[0], weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
