"""Grading a class: shares of the machine, results kept as they come, a batch resumed, verdicts as in sequence."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from autograder.batch import records
from autograder.batch import reports as batch_reports
from autograder.batch import run as batch
from autograder.grading import resources, runner
from autograder.grading.examples import differences, families
from autograder.host.client import Worker, WorkerSettings
from autograder.host.sandbox import UidClaim
from autograder.results import CheckResult, SubmissionResult
from tests.conftest import ROOT

SUBMISSIONS = ROOT / "submissions"
FAMILIES = {family.folder.name: family for family in families(SUBMISSIONS)}


# ---------------------------------------------------------------- shares of the machine


def test_cores_are_divided_among_the_workers_never_more_threads_than_cores():
    assert resources.share(1, "cpu", cores=2, gpus=0, busy=0) == resources.Share(1, 2)
    assert resources.share(2, "cpu", cores=2, gpus=0, busy=0).threads == 1
    assert resources.share(5, "cpu", cores=2, gpus=0, busy=0).threads == 1  # one at least, even when oversubscribed
    assert resources.share(4, "cpu", cores=16, gpus=0, busy=0).threads == 4
    assert resources.share(1, "cpu", cores=64, gpus=0, busy=0).threads == resources.MAX_THREADS
    assert not resources.share(2, "cpu", cores=2, gpus=0, busy=0).passive_wait  # threads spin unless oversubscribed
    assert resources.share(3, "cpu", cores=2, gpus=0, busy=0).passive_wait


def test_threads_are_sized_to_the_cores_free_now_and_wait_passively_on_a_busy_machine():
    assert resources.free_cores(cores=4, busy=0) == 4 and resources.free_cores(cores=4, busy=2.6) == 1
    assert resources.free_cores(cores=2, busy=9) == 1  # one at least, however busy
    loaded = resources.share(1, "cpu", cores=2, gpus=0, busy=2)
    assert loaded.threads == 1 and loaded.passive_wait  # two busy processes beside it on two cores
    assert "OpenMP waiting passively" in loaded.describe()
    half = resources.share(1, "cpu", cores=4, gpus=0, busy=2)
    assert half.threads == 2 and not half.passive_wait


def test_the_machine_is_read_as_it_is(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(resources, "cgroup_quota", lambda: None)
    assert resources.available_cores() == 4  # the cores this process may run on
    monkeypatch.setattr(resources, "cgroup_quota", lambda: 2.5)
    assert resources.available_cores() == 2  # within its cgroup's quota, whole cores
    monkeypatch.setattr(resources, "cgroup_quota", lambda: 0.5)
    assert resources.available_cores() == 1  # one at least
    assert resources.running_elsewhere(samples=2, interval=0.0) >= 0


def test_workers_sharing_a_gpu_each_get_a_part_of_its_memory():
    assert resources.share(1, "cuda", cores=16, gpus=1, busy=0).gpu_memory_fraction is None
    assert resources.share(4, "cuda", cores=16, gpus=1, busy=0).gpu_memory_fraction == pytest.approx(0.225)
    assert resources.share(4, "cuda", cores=16, gpus=2, busy=0).gpu_memory_fraction == pytest.approx(0.45)
    assert "4 at a time, 4 threads each, 22% of a GPU's memory each" == resources.share(
        4, "cuda", cores=16, gpus=1, busy=0).describe()


def test_on_several_gpus_the_slots_take_them_in_turn_and_each_worker_sees_only_its_own(monkeypatch, tmp_path):
    share = resources.share(4, "cuda", cores=16, gpus=2, busy=0)
    assert [share.for_slot(slot).gpu for slot in range(4)] == [0, 1, 0, 1]
    assert resources.share(4, "cuda", cores=16, gpus=1, busy=0).gpu is None  # one GPU: nothing to choose
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert Worker(tmp_path, WorkerSettings(gpu=1))._environment()["CUDA_VISIBLE_DEVICES"] == "5"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert Worker(tmp_path, WorkerSettings(gpu=1))._environment()["CUDA_VISIBLE_DEVICES"] == "1"
    assert "CUDA_VISIBLE_DEVICES" not in Worker(tmp_path, WorkerSettings())._environment()


def test_default_jobs_is_what_the_machine_holds():
    gib = 1024**3
    assert resources.default_jobs("cpu", cores=2, memory=24 * gib, gpus=0) == 2
    assert resources.default_jobs("cpu", cores=16, memory=8 * gib, gpus=0) == 4  # memory bounds it
    assert resources.default_jobs("cpu", cores=16, memory=gib, gpus=0) == 1
    assert resources.default_jobs("cuda", cores=16, memory=128 * gib, gpus=1) == resources.WORKERS_PER_GPU


def test_the_worker_runs_with_its_share_of_threads_and_openmp_waiting_as_told(tmp_path):
    student = tmp_path / "student"
    student.mkdir()
    (student / "probe.py").write_text("import os, torch\nTHREADS = torch.get_num_threads()\n"
                                      "PASSIVE = os.environ.get('OMP_WAIT_POLICY') == 'PASSIVE'\n")
    worker = Worker(student, WorkerSettings(threads=1, slot=1, passive_wait=True))
    try:
        header, _ = worker.call("values", "reading", 60, file="probe.py", names=["THREADS", "PASSIVE"])
    finally:
        worker.close()
    assert header["values"]["THREADS"]["value"] == 1.0, header
    assert header["values"]["PASSIVE"]["value"] == 1.0
    env = worker._environment()
    assert env["OMP_NUM_THREADS"] == "1" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert "OMP_WAIT_POLICY" not in Worker(student, WorkerSettings(threads=2))._environment()  # alone: spinning
    if worker.launcher.drop_uid is not None:  # each concurrent worker its own uid: process limits apart
        # slot 1's own uid, or (another grader holding it now) a free one below it
        assert UidClaim.LOWEST < worker.launcher.drop_uid <= 65533


# ---------------------------------------------------------------- results kept, a batch resumed


def _fake_grade(calls: list, seconds: float = 0.0):
    def grade(path, **options):
        calls.append((path.name, options.get("share")))
        time.sleep(seconds)
        if path.name == "crashes":
            raise RuntimeError("the grader's own bug")
        return SubmissionResult(path.name, "a", [CheckResult("1/x", "x", "1", 2, 2, True, "ok")], seconds=seconds)

    return grade


def _class_of(tmp_path, names):
    folder = tmp_path / "class"
    for name in names:
        (folder / name).mkdir(parents=True)
        (folder / name / "answers.py").write_text(f"who = {name!r}\n")
    return [folder / name for name in names]


def test_each_result_is_written_as_it_comes_and_a_rerun_grades_only_what_changed(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "grade", _fake_grade(calls))
    paths = _class_of(tmp_path, ["ann", "bob", "cy"])
    out = tmp_path / "out"
    first = batch.grade_many(paths, jobs=2, out=out, device="cpu")
    assert [r.submission for r in first] == ["ann", "bob", "cy"] and len(calls) == 3
    assert sorted(p.name for p in out.glob("*.json")) == ["ann.json", "bob.json", "cy.json"]  # Gradescope's files

    calls.clear()
    (paths[1] / "answers.py").write_text("who = 'bob, resubmitted'\n")
    kept = []
    again = batch.grade_many(paths, jobs=2, out=out, kept=kept, device="cpu")
    assert [name for name, _ in calls] == ["bob"] and sorted(p.name for p in kept) == ["ann", "cy"]
    assert [r.submission for r in again] == ["ann", "bob", "cy"] and again[0] == first[0]

    calls.clear()
    batch.grade_many(paths, jobs=2, out=out, device="cpu", keyword="1/x")  # other options: graded again
    assert len(calls) == 3
    calls.clear()
    batch.grade_many(paths, jobs=2, out=out, force=True, device="cpu", keyword="1/x")
    assert len(calls) == 3
    assert {r.submission for r in records.ResultStore(out).all_results()} == {"ann", "bob", "cy"}


def test_a_half_written_record_is_graded_again(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "grade", _fake_grade(calls))
    paths = _class_of(tmp_path, ["ann"])
    batch.grade_many(paths, out=tmp_path / "out", device="cpu")
    record = tmp_path / "out" / "records" / "ann.json"
    record.write_text(record.read_text()[:40])
    calls.clear()
    batch.grade_many(paths, out=tmp_path / "out", device="cpu")
    assert len(calls) == 1


def test_concurrent_gradings_each_hold_their_own_slot_and_a_grader_crash_stays_with_its_submission(
        tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(runner, "grade", _fake_grade(calls, seconds=0.2))
    paths = _class_of(tmp_path, ["ann", "bob", "crashes", "dee", "eve", "fay"])
    started = time.monotonic()
    results = batch.grade_many(paths, jobs=3, device="cpu")
    assert time.monotonic() - started < 6 * 0.2  # they overlapped
    shares = [share for _, share in calls]
    assert {s.slot for s in shares} == {0, 1, 2} and {s.threads for s in shares} == {
        resources.share(3, "cpu").threads}
    crashed = results[2]
    assert crashed.error.startswith("the grader itself failed on this submission (RuntimeError)")
    assert "the grader's own bug" in crashed.staff_log[0]
    assert [r.error for i, r in enumerate(results) if i != 2] == [None] * 5


def test_the_summary_names_what_was_not_graded_and_the_slowest():
    results = [SubmissionResult("ann", "a", seconds=12.0), SubmissionResult("bob", "a", error="not a zip"),
               SubmissionResult("cy", "a", seconds=31.0)]
    text = batch_reports.render_summary(results, kept=4, seconds=30.0, jobs=2)
    assert text.splitlines() == [
        "graded 2 submissions in 30 s, 2 at a time (10.0 s per submission); 4 kept from an earlier run "
        "(--force grades them again)",
        "  not graded: bob: not a zip",
        "  slowest: cy 31 s, ann 12 s",
    ]


def test_cli_jobs_must_be_a_positive_number():
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", "x", "--jobs", "0"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "argument --jobs/-j: a whole number of 1 or more, not '0'" in result.stderr


# ---------------------------------------------------------------- beyond one machine


@pytest.mark.slow
def test_a_batch_on_a_local_ray_gets_the_grades_of_a_local_batch(tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'autograder[ray]'")
    from autograder.batch import ray_executor

    family = FAMILIES["cpsc663-ex2"]
    names = ["broken-syntax-error", "notebook-not-json"]
    for name in names:
        shutil.copytree(family.folder / name, tmp_path / "class" / name, symlinks=True)
    paths = [tmp_path / "class" / name for name in names]
    try:
        results = batch.grade_many(paths, jobs=2, executor="ray", device="cpu", out=tmp_path / "out",
                                   assignment_id=family.assignment)
    finally:
        ray_executor.shutdown()
    for name, result in zip(names, results, strict=True):
        assert result.submission == name
        assert not differences(result, family, family.examples[name]["fails"]), name
    assert {r.submission for r in records.ResultStore(tmp_path / "out").all_results()} == set(names)


@pytest.mark.slow  # over 10 s on 2 busy cores: the full tier (tox -e full)
def test_a_partial_run_says_so_in_every_file_and_writes_no_canvas_file_unless_asked(tmp_path, capsys):
    """``-k`` grades some checks: the scores are not the submissions'. The table, gradebook.csv, each results
    file, feedback page and the JUnit file say which checks were graded; the Canvas CSV (uploaded as grades) is
    written only with ``--canvas``."""
    import json
    import shutil
    import xml.etree.ElementTree as ET
    from pathlib import Path

    from autograder.cli import main

    good = Path(__file__).resolve().parents[1] / "submissions" / "cpsc663-ex2" / "sequential-style"
    batch = tmp_path / "batch"
    for name in ("ann", "bob"):
        shutil.copytree(good, batch / name)
    out = tmp_path / "out"
    argv = ["grade", str(batch / "ann"), str(batch / "bob"), "--out", str(out), "--junit", str(out / "junit.xml"),
            "-k", "5.4/AE/constructs", "--no-similarity", "--jobs", "1"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "partial run (checks selected by -k 5.4/AE/constructs)" in printed
    assert "no Canvas file for a partial run" in printed
    assert not (out / "gradebook-canvas.csv").exists()
    rows = (out / "gradebook.csv").read_text().splitlines()
    assert rows[0].endswith(",partial run") and all(r.endswith(",checks selected by -k 5.4/AE/constructs")
                                                        for r in rows[1:])
    results = json.loads((out / "ann.json").read_text())
    assert results["extra_data"]["partial_run"] == "checks selected by -k 5.4/AE/constructs"
    assert results["output"].startswith("Note: partial run (checks selected by -k 5.4/AE/constructs)")
    assert "Partial run." in (out / "ann.html").read_text()
    properties = [p.get("value") for p in ET.parse(out / "junit.xml").iter("property") if p.get("name") ==
                  "partial run"]
    assert len(properties) == 2 and all("-k 5.4/AE/constructs" in p for p in properties)
    assert main([*argv, "--canvas"]) == 0
    assert (out / "gradebook-canvas.csv").is_file()
