"""How long grading one cpsc663-ex2 submission takes on this machine, cold and warm, and by stage.

Cold: a new process's first grading (nothing cached: data, torchvision copy, worker).
Warm: the same submission again in the same process (data and torchvision copy cached; a new worker).
Each records its breakdown by stage in extra_info (pytest-benchmark's --benchmark-json keeps it):
worker start ("import" includes it), structure and behaviour checks, answers, training, weights.
"""

from __future__ import annotations

import pytest

from autograder import datasets
from autograder.grading import session
from autograder.grading.runner import grade
from autograder.host.client import Worker, WorkerSettings
from tests.conftest import ROOT

ANSWER_KEY = ROOT / "submissions" / "cpsc663-ex2" / "answer-key"


def _record(benchmark, result):
    benchmark.extra_info.update({f"stage {k}": v for k, v in result.stage_seconds.items()})
    benchmark.extra_info["score"] = f"{result.score:g}/{result.max_score:g}"
    assert result.error is None and result.score == result.max_score


@pytest.mark.slow
def test_bench_grade_one_submission_cold(benchmark, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_CACHE_DIR", str(tmp_path / "cache"))
    datasets.clear_memory_cache()
    session._prepared_roots.clear()
    result = benchmark.pedantic(grade, args=(ANSWER_KEY,), kwargs={"device": "cpu"}, rounds=1, iterations=1)
    _record(benchmark, result)


@pytest.mark.slow
def test_bench_grade_one_submission_warm(benchmark):
    grade(ANSWER_KEY, device="cpu", keyword="files")  # warms the data caches and the torchvision copy
    result = benchmark.pedantic(grade, args=(ANSWER_KEY,), kwargs={"device": "cpu"}, rounds=1, iterations=1)
    _record(benchmark, result)


def test_bench_worker_start(benchmark, tmp_path):
    def start_and_stop():
        worker = Worker(tmp_path, WorkerSettings())
        worker.start()
        worker.close()

    benchmark.pedantic(start_and_stop, rounds=3, iterations=1)
