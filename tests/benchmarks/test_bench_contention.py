"""Brief training when several run at once, as in a batch graded ``--jobs 2`` on this machine.

torch's defaults (one OpenMP thread per core, idle threads spinning) collapse when
another such process runs; the worker's settings (its share of the cores, OpenMP
waiting passively) do not. Measured on 2 cores, 100 steps: defaults 0.58 s alone,
30 s each for two at once; worker settings 1.0 s alone, 0.98 s each for two at once.
Each process runs the same 50 Adam steps of a small convolutional autoencoder and
reports the seconds its training took (import and start-up left out).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autograder.grading import resources
from autograder.host.client import Worker, WorkerSettings

TRAIN = """
import time, torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                            torch.nn.Conv2d(16, 8, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.ConvTranspose2d(8, 1, 2, stride=2), torch.nn.Sigmoid())
opt = torch.optim.Adam(model.parameters(), 1e-3)
x = torch.rand(64, 1, 28, 28)
started = time.perf_counter()
for step in range(50):
    opt.zero_grad(); torch.nn.functional.mse_loss(model(x), x).backward(); opt.step()
print(time.perf_counter() - started)
"""
JOBS = 2


def _environment(tmp_path, settings: str) -> dict:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LD_LIBRARY_PATH") if k in os.environ}
    if settings == "torch defaults":
        return keep
    share = resources.share(JOBS, "cpu")
    worker_env = Worker(tmp_path, WorkerSettings(threads=share.threads, passive_wait=share.passive_wait))._environment()
    return {**keep, **{k: v for k, v in worker_env.items() if k.startswith(("OMP_", "MKL_", "OPENBLAS_"))}}


def _train_at_once(env: dict) -> list[float]:
    processes = [subprocess.Popen([sys.executable, "-c", TRAIN], env=env, stdout=subprocess.PIPE, text=True)
                 for _ in range(JOBS)]
    return [float(p.communicate()[0]) for p in processes]


@pytest.mark.slow
@pytest.mark.parametrize("settings", ["worker settings", "torch defaults"])
def test_bench_brief_training_two_at_once(benchmark, tmp_path, settings):
    env = _environment(tmp_path, settings)
    alone = _train_at_once_alone(env)
    seconds = benchmark.pedantic(_train_at_once, args=(env,), rounds=1, iterations=1)
    benchmark.extra_info.update({"cores": resources.available_cores(), "training alone (s)": round(alone, 2),
                                 "training, two at once (s)": [round(s, 2) for s in seconds],
                                 **{k: v for k, v in env.items() if k.startswith("OMP_")}})
    assert len(seconds) == JOBS


def _train_at_once_alone(env: dict) -> float:
    result = subprocess.run([sys.executable, "-c", TRAIN], env=env, capture_output=True, text=True, check=True)
    return float(result.stdout)
