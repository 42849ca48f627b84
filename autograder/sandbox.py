"""How a worker process is started and stopped.

The worker runs in its own session (so its whole process group can be killed
at once), in the scratch copy of the submission, with an environment the
grader wrote from scratch.
"""

from __future__ import annotations

import os
import signal
import subprocess


class Launcher:
    """Starts a command as a sandboxed worker, and kills it with everything it started."""

    def popen(self, command, *, cwd, env, pass_fds, stdout, stderr) -> subprocess.Popen:
        return subprocess.Popen(
            command, cwd=cwd, env=env, pass_fds=pass_fds, stdin=subprocess.DEVNULL,
            stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip

    def kill(self, process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
