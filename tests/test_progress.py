"""The first hour of a new user: every long command shows it is alive, with or without a terminal.

Both tests read a real command's output as it comes, through a pipe (no TTY), as CI logs and ``tox`` show it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib

import pytest

from autograder.student_kit import toml_text
from tests.conftest import ROOT

RUN = "import sys; from autograder.cli import main; sys.exit(main(sys.argv[1:]))"


def timed_lines(command: list[str], timeout: float = 900) -> tuple[int, list[tuple[float, str]]]:
    """The command's exit code and each line of its stdout and stderr with the second it arrived."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", RUN, *command], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[tuple[float, str]] = []

    def read():
        for line in process.stdout:
            lines.append((time.monotonic() - started, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code = process.wait(timeout=timeout)
    reader.join(10)
    return code, lines


@pytest.mark.slow
def test_the_main_jobs_grading_step_prints_a_line_per_submission_through_a_pipe(tmp_path):
    family = ROOT / "submissions" / "cpsc663-ex2"
    expected = tomllib.loads((family / "expected.toml").read_text())
    chosen = ["sequential-style", "broken-code-size"]
    copy = tmp_path / "examples" / "cpsc663-ex2"
    copy.mkdir(parents=True)
    for name in chosen:
        shutil.copytree(family / name, copy / name)
    kept = {"assignment": "cpsc663-ex2", "max_score": 90, **{name: expected[name] for name in chosen}}
    (copy / "expected.toml").write_text(toml_text.dumps(kept))
    code, lines = timed_lines(["examples", str(tmp_path / "examples"), "--jobs", "1"])
    text = [line for _, line in lines]
    assert code == 0, "\n".join(text[-30:])
    for index, name in enumerate(chosen, 1):
        assert any(line.startswith(f"autograder: [{index}/2] {name}: ") for line in text), text
    progress = [seconds for seconds, line in lines if line.startswith("autograder: [")]
    assert progress[0] < lines[-1][0] - 5, "the progress lines came only at the end"


@pytest.mark.slow
def test_grading_one_submission_through_a_pipe_is_never_silent_for_30_seconds():
    code, lines = timed_lines(["grade", str(ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"),
                               "--no-similarity"])
    assert code == 0, "\n".join(line for _, line in lines[-30:])
    times = [0.0] + [seconds for seconds, _ in lines]
    gaps = [(later - earlier, line) for earlier, (later, line) in zip(times, lines, strict=False)]
    longest = max(gaps)
    assert longest[0] < 30, f"nothing printed for {longest[0]:.0f} s before: {longest[1]}"
    assert sum(line.startswith("autograder: [") for _, line in lines) >= 3  # its stages, said as they start
