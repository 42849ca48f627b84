"""Checks of a command-line program run as the handout runs it: it runs, writes its files, prints, and the
weights it writes are trained.

``run`` is the worker's account of one run (``grading/measure/scripts.py``):
``ended`` (finished, stopped by the step budget, exit, error, input, timeout,
killed), the printed text, the files written, the weight files' loading.
These functions only compare it with the expectation.
"""

from __future__ import annotations

import fnmatch
import re

from ...results import Verdict
from ..outcomes import MESSAGE_CHARS, student_traceback
from . import training
from .expected import Expected

LINES_SHOWN = 5  # of the output, in a failed prints check


def _where(frames) -> str:
    if not frames:
        return ""
    last = frames[-1]
    return f" (in {str(last.get('file', ''))[:80]}, line {last.get('line')}: {str(last.get('code', ''))[:200]})"


def how_it_ended(run: dict) -> str | None:
    """Why the run is a failure, in words; None when it finished or the step budget stopped it."""
    ended, cmd = run.get("ended"), run["command"]
    if ended in ("finished", "stopped"):
        return None
    if ended == "input":
        return (f"{cmd} asked for input{_where(run['error'].get('frames'))}, but the grader runs it with an empty "
                "stdin: take what it needs from its command-line arguments (argparse) instead of input()")
    if ended == "error":
        return f"{cmd} raised {student_traceback(run['error'])}"
    if ended == "exit":
        return f"{cmd} exited with status {str(run.get('code'))[:MESSAGE_CHARS]}{_where(run.get('frames'))}"
    if ended == "timeout":
        return f"{cmd} did not finish: {run.get('detail')}{_where(run.get('frames'))}; the grader stopped it"
    if ended == "missing":
        return f"{run.get('file')} is missing from the submission"
    return f"{cmd} did not finish: {str(run.get('detail', ended))[:MESSAGE_CHARS]}"


def _stopped(run: dict) -> str:
    if run.get("ended") != "stopped":
        return ""
    return (f"; the grader stopped its training after {run.get('budget')} optimizer steps{_where(run.get('frames'))}, "
            "which is not a fault")


def check_script_runs(run: dict, expected: Expected) -> Verdict:
    """The script ran to its end with the declared arguments (or its training was stopped by the step budget)."""
    failure = how_it_ended(run)
    if failure:
        return Verdict(False, f"{failure}. Expected it to run to its end with these arguments; run `{run['command']}` "
                              "yourself in a folder holding only your submitted files")
    capped = f" (its training capped at {run.get('budget')} optimizer steps)" if run.get("throttled") else ""
    stopped = _stopped(run)
    return Verdict(True, f"{run['command']} ran to its end{capped}" if not stopped else
                   f"{run['command']} ran{stopped}")


def _written(run: dict) -> list[str]:
    return [w["name"] for w in run.get("written", [])]


def _listing(names: list[str], count: int) -> str:
    shown = ", ".join(n[:100] for n in names[:12])
    return (shown + (f" and {count - 12} more" if count > 12 else "")) or "nothing"


def check_script_writes(run: dict, expected: Expected) -> Verdict:
    """Each of ``files`` (names, or patterns such as ``*.png``) was written (created or changed) by the run."""
    written = _written(run)
    missing = [f for f in expected["files"] if not any(fnmatch.fnmatch(name, f) for name in written)]
    if not missing:
        found = [name for name in written if any(fnmatch.fnmatch(name, f) for f in expected["files"])]
        return Verdict(True, f"{run['command']} wrote {_listing(found, len(found))}")
    instead = _listing(written, run.get("written_count", len(written)))
    ended = how_it_ended(run)
    why = f" The run ended before that: {ended}." if ended else ""
    if run.get("ended") == "stopped":
        why = (f" The grader stopped its training after {run.get('budget')} optimizer steps"
               f"{_where(run.get('frames'))}, before it wrote them: train on batches from a DataLoader, which the "
               "grader shortens so the script can run to its end.")
    return Verdict(False, f"{run['command']} did not write {', '.join(missing)}: it wrote {instead}.{why} Write each "
                          "file under the name the command line gives (relative to the folder it runs in)")


def _last_lines(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(line.strip()[:160] for line in lines[-LINES_SHOWN:])


def check_script_prints(run: dict, expected: Expected) -> Verdict:
    """What the run printed on stdout (where print() writes) matches the regular expression ``pattern``."""
    pattern, text = expected["pattern"], run.get("output", "")
    match = re.search(pattern, text, re.MULTILINE)
    if match:
        line = text[text.rfind("\n", 0, match.start()) + 1:].split("\n", 1)[0].strip()
        return Verdict(True, f"{run['command']} printed {line[:200]!r}")
    ended = how_it_ended(run)
    why = f" The run ended early: {ended}." if ended else ""
    if not text.strip():
        warned = f" (on stderr: {_last_lines(run.get('errors', ''))})" if run.get("errors", "").strip() else ""
        return Verdict(False, f"{run['command']} printed nothing{warned}; expected output matching {pattern!r}.{why} "
                              "Print what the handout asks for (print(...) to the console)")
    return Verdict(False, f"the output of {run['command']} has no line matching {pattern!r}; its last lines: "
                          f"{_last_lines(text)}.{why}")


def check_written_weights(measured: dict, expected: Expected) -> Verdict:
    """The weight file the script wrote loads into the model (weights_only, strict keys) and, scored on held-out
    data, passes the calibrated bar: judged as ``trained_weights`` judges a submitted file."""
    run, file, model = measured["run"], measured["file"], measured["model"]
    as_model = Expected(model, {"names": [file]}, expected.problem)
    if measured["loaded"] is None:
        ended = how_it_ended(run)
        why = f": {ended}" if ended else f" (it wrote {_listing(_written(run), run.get('written_count', 0))})"
        return Verdict(False, f"not checked: {run['command']} did not write {file}{why}")
    loaded, scored = measured["loaded"], measured["scored"]
    if scored is None:
        verdict = training.check_weights_load(loaded, as_model)
        return Verdict(False, f"{file}, as {run['command']} wrote it: {verdict.feedback}")
    verdict = training.check_trained_weights((loaded, scored), as_model)
    return Verdict(verdict.passed, f"{verdict.feedback} ({file} as {run['command']} wrote it, its training capped "
                                   f"at {run.get('budget')} optimizer steps)")
