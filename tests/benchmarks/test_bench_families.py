"""How long grading one full notebook of each assignment family takes on this machine (2 CPU cores here),
with its breakdown by stage in extra_info (pytest --benchmark-json keeps it)."""

from __future__ import annotations

import pytest

from autograder.grading.runner import grade
from tests.conftest import ROOT, SHARED_DATA

FAMILIES = {"ece4803-hw6": "answer-key", "keras-autoencoders": "answer-key", "mle-sheet6": "answer-key"}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_bench_grade_one_notebook(benchmark, family):
    data_dir = SHARED_DATA if SHARED_DATA.is_dir() else None
    grade(ROOT / "submissions" / family / FAMILIES[family], device="cpu", keyword="notebook")  # caches warm
    result = benchmark.pedantic(grade, args=(ROOT / "submissions" / family / FAMILIES[family],),
                                kwargs={"device": "cpu", "data_dir": data_dir}, rounds=1, iterations=1)
    benchmark.extra_info.update({f"stage {k}": v for k, v in result.stage_seconds.items()})
    benchmark.extra_info["score"] = f"{result.score:g}/{result.max_score:g}"
    assert result.error is None and result.score == result.max_score
