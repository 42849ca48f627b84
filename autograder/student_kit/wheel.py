"""The grader as students install it: a wheel built from the source checkout without the answer key.

``AUTOGRADER_WITHOUT_ANSWER_KEY=1`` makes ``setup.py`` leave ``reference/`` (solutions, thresholds, written
answers) out of the distribution; the kit's README tells students to install this wheel, never the instructor's
installation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def _answer_key_part(name: str) -> bool:
    return name.startswith("reference/") or "/solution/" in name or name.endswith(("thresholds.json",
                                                                                    "written.toml"))


class WheelError(RuntimeError):
    """The student wheel could not be built; the message says why and what to do."""


def source_checkout() -> Path | None:
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "setup.py").is_file() else None


def build_student_wheel(out: Path) -> Path:
    """Build the wheel into ``out``; WheelError if there is no source checkout or the build fails, or if the
    wheel built holds any part of an answer key."""
    root = source_checkout()
    if root is None:
        raise WheelError("the student wheel is built from the project's source checkout (pip install -e .), "
                         "which this installation is not")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        build, source = Path(scratch) / "build", Path(scratch) / "source"
        # A clean copy of what the wheel is made of: nothing a stale build/ or the answer key could add
        shutil.copytree(root / "autograder", source / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "setup.py", "README.md"):
            shutil.copy(root / name, source / name)
        env = {**os.environ, "AUTOGRADER_WITHOUT_ANSWER_KEY": "1", "PIP_NO_INPUT": "1"}
        env.pop("PIP_CONSTRAINT", None)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(build),
                   str(source)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=scratch)
        wheels = sorted(build.glob("autograder-*.whl"))
        if done.returncode != 0 or not wheels:
            raise WheelError(f"building the student wheel failed: {(done.stderr or done.stdout).strip()[-500:]}")
        leaked = answer_key_members(wheels[0])
        if leaked:
            raise WheelError(f"the student wheel holds parts of an answer key ({', '.join(leaked[:5])}); not written")
        target = out / wheels[0].name
        target.write_bytes(wheels[0].read_bytes())
    return target


def answer_key_members(wheel: Path) -> list[str]:
    """The members of ``wheel`` that belong to an answer key."""
    with zipfile.ZipFile(wheel) as archive:
        return [name for name in archive.namelist() if _answer_key_part(name)]
