"""The check that the submission's notebook runs: executed in a real kernel in the worker."""

from __future__ import annotations

import re

from ...results import Verdict
from .expected import Expected

SHOWN_ERRORS = 4

# Errors that old library code raises under the versions here, and the fix: a version problem, not a wrong answer.
VERSION_FIXES = (
    (re.compile(r"Argument\(s\) not recognized: \{'lr'"),
     "Keras 3 renamed `lr` to `learning_rate`: write Adam(learning_rate=0.001)"),
    (re.compile(r"Received an invalid value for `units`, expected a positive integer"),
     "Keras 3 wants a Python int: write Dense(int(code_size), ...) (np.arange gives NumPy integers)"),
    (re.compile(r"No module named '(tensorflow|tf)\b"),
     "TensorFlow is not installed here: Keras 3 runs on PyTorch; import `keras` (from keras.layers import Dense) "
     "rather than `tensorflow` or `tf.keras`"),
    (re.compile(r"No module named 'keras\.(callbacks\.callbacks|engine|layers\.core|wrappers)"),
     "a Keras 2 module path: Keras 3 has these names directly in keras.callbacks, keras.layers, keras.models"),
)


def version_fix(text: str) -> str | None:
    """The fix for an error that is a library-version problem, when it is a known one."""
    return next((fix for pattern, fix in VERSION_FIXES if pattern.search(text)), None)


def _describe(cell: dict) -> str:
    error = cell["error"] or {}
    where = f"cell {cell['index'] + 1} (`{str(cell['first_line'])[:100]}`)"
    if cell["status"] == "timeout":
        return f"{where} did not finish within the time limit"
    kind, message = str(error.get("ename", "an error"))[:80], str(error.get("evalue", ""))[:300]
    fix = version_fix(f"{kind}: {message}")
    return f"{where} raised {kind}: {message}".rstrip(": ") + (f" (a library version problem: {fix})" if fix else "")


def check_notebook_runs(report: dict | None, expected: Expected) -> Verdict:
    """``report``: how the notebook ran (None when there is none). ``expected.name``: its file."""
    if report is None:
        if expected.get("required"):
            return Verdict(False, "no notebook was submitted; the handout asks for one")
        return Verdict(True, "no notebook was submitted (it is optional)")
    if not report["ran"]:
        problem = str(report.get("problem", "unknown problem"))[:500]
        return Verdict(False, f"{expected.name} could not be run: {problem}")
    cells = report.get("cells", [])
    failed = [c for c in cells if c["status"] in ("error", "timeout")]
    if failed:
        shown = "; ".join(_describe(c) for c in failed[:SHOWN_ERRORS])
        more = f"; and {len(failed) - SHOWN_ERRORS} more" if len(failed) > SHOWN_ERRORS else ""
        return Verdict(False, f"{expected.name}: {len(failed)} of {len(cells)} code cells failed: {shown}{more}. "
                              "The other cells ran, and everything the notebook defined was graded.")
    return Verdict(True, f"{expected.name}: all {len(cells)} code cells ran ({report.get('seconds', 0):.0f} s)")
