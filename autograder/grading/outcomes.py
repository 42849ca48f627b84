"""How a measurement or check can end other than with a verdict: the student's fault, or missing data."""

from __future__ import annotations


class CheckFailed(Exception):
    """The check cannot pass; the message is for the student."""


class CheckTimedOut(CheckFailed):
    """The student's code computed past its limit: later checks of the same code are not run again."""


class NotGradable(Exception):
    """The check needs something this machine lacks (a data set); the message names it and how to provide it.
    Neither the student's fault nor a pass: reported apart, worth no points either way."""


MESSAGE_CHARS = 300  # of a student's exception message shown back: enough to act on, too little to smuggle much
NAME_CHARS = 80  # of a type or function name shown back


def _short(text, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + " [...]"


def student_traceback(info: dict) -> str:
    """``error`` info from the worker as a short message naming the student's own lines."""
    message = _short(info.get("message", ""), MESSAGE_CHARS)
    kind = _short(info.get("type", "Error"), NAME_CHARS)
    text = f"{kind}: {message}".rstrip(": ") if kind else message
    frames = info.get("frames") or []
    if frames:
        last = frames[-1]
        text += (f" (in {_short(last.get('file', ''), NAME_CHARS)}, line {last.get('line')}, in "
                 f"{_short(last.get('function', ''), NAME_CHARS)}: {_short(last.get('code', ''), 200)})")
    return text
