"""``autograder grade`` runs the pytest grading suite in-process and turns what it recorded into results.

The suite is pinned: its own folder is the rootdir, no ini file or conftest.py
from anywhere else is read, ``PYTEST_ADDOPTS`` is ignored, no installed plugin
but the autograder's is loaded, and the submission is never a collection
path, so nothing a student ships can change how pytest runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import pytest

from .. import suite
from ..pytest_plugin import session_results
from ..results import SubmissionResult

SUITE_DIR = Path(suite.__file__).resolve().parent


class _Collector:
    """Picks up the session's results before the plugin tears the session down."""

    def __init__(self, result: SubmissionResult):
        self.result = result

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        context, checks, error = session_results(session.config)
        self.result.checks = list(checks)
        self.result.error = error
        if context is not None:
            self.result.assignment = context.assignment.id
            self.result.device = context.device
            self.result.notes = list(dict.fromkeys(context.notes))
            self.result.staff_log = list(context.staff_log)
            self.result.stage_seconds = {k: round(v, 3) for k, v in context.stage_seconds.items()}


@contextlib.contextmanager
def _pinned_environment():
    """No PYTEST_ADDOPTS, and no plugin autoloading: the run loads exactly the autograder's plugin."""
    saved = {key: os.environ.get(key) for key in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def grade(path, *, assignment_id=None, data_dir=None, device="auto", public_only=False, keyword=None,
          show_pytest=False) -> SubmissionResult:
    """Grade one submission by running the suite under pytest; never raises for the submission's faults."""
    started = time.monotonic()
    result = SubmissionResult(submission=Path(path).name, assignment=assignment_id)
    args = [str(SUITE_DIR), "--rootdir", str(SUITE_DIR), "-c", str(SUITE_DIR / "pytest.ini"),
            "--confcutdir", str(SUITE_DIR), "-p", "no:cacheprovider", "-p", "autograder.pytest_plugin",
            "-q", "--submission", str(path),
            "--device", device]
    args += ["--assignment", assignment_id] if assignment_id else []
    args += ["--data-dir", str(data_dir)] if data_dir else []
    args += ["--public-only"] if public_only else []
    args += ["-k", keyword] if keyword else []
    quiet = contextlib.redirect_stdout(io.StringIO()) if not show_pytest else contextlib.nullcontext()
    with _pinned_environment(), quiet:
        pytest.main(args, plugins=[_Collector(result)])
    result.seconds = round(time.monotonic() - started, 3)
    return result
