"""Grading a notebook that trains for 10 epochs on the full data available, against executing it as-is.

"As-is" is what notebook graders commonly do: run every cell to the end (here: the same grader with the
training budget of notebook cells lifted), then check. Both runs must reach the same verdicts; the
ratio of their times is recorded in the benchmark's extra_info (pytest --benchmark-json keeps it).
"""

from __future__ import annotations

import shutil
import time

import pytest

from autograder.grading import limits
from autograder.grading.runner import grade
from tests.conftest import ROOT, SHARED_DATA

NOTEBOOK = ROOT / "submissions" / "cpsc663-ex2" / "notebook-60-epochs"


@pytest.fixture(scope="module")
def ten_epochs(tmp_path_factory):
    target = tmp_path_factory.mktemp("nb") / "ten-epochs"
    shutil.copytree(NOTEBOOK, target)
    notebook = target / "lee_assignment2.ipynb"
    notebook.write_text(notebook.read_text().replace("EPOCHS = 60", "EPOCHS = 10"))
    return target


@pytest.mark.slow
def test_bench_notebook_grading_against_executing_it_as_is(benchmark, ten_epochs, monkeypatch, capsys):
    data_dir = SHARED_DATA if (SHARED_DATA / "mnist").is_dir() else None
    with monkeypatch.context() as patch:
        patch.setattr(limits, "NOTEBOOK_STEP_BUDGET", 10**9)
        patch.setattr(limits, "NOTEBOOK_CELL_SECONDS", 3600)
        patch.setattr(limits, "NOTEBOOK_SECONDS", 3600)
        started = time.monotonic()
        as_is = grade(ten_epochs, device="cpu", data_dir=data_dir)
        as_is_seconds = time.monotonic() - started
    ours = benchmark.pedantic(grade, args=(ten_epochs,), kwargs={"device": "cpu", "data_dir": data_dir},
                              rounds=1, iterations=1)
    assert [(c.check_id, c.passed) for c in ours.checks] == [(c.check_id, c.passed) for c in as_is.checks]
    assert ours.score == ours.max_score
    benchmark.extra_info.update(
        as_is_seconds=round(as_is_seconds, 1), ours_seconds=round(ours.seconds, 1),
        ratio=round(as_is_seconds / ours.seconds, 1),
        as_is_notebook_seconds=as_is.stage_seconds.get("imports"),
        ours_notebook_seconds=ours.stage_seconds.get("imports"),
    )  # fmt: skip
    with capsys.disabled():
        print(f"\nnotebook, 10 epochs: as-is {as_is_seconds:.1f} s (notebook {as_is.stage_seconds.get('imports')} s), "
              f"graded {ours.seconds:.1f} s (notebook {ours.stage_seconds.get('imports')} s), "
              f"ratio {as_is_seconds / ours.seconds:.1f}")
