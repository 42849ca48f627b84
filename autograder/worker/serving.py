"""The worker's side of the channel: read a request, run its operation (``handlers.HANDLERS``), answer with plain
data, until the grader closes the channel or kills the worker. A failure of the student's code, a missing file or
name, and the worker's own fault are each told as such."""

from __future__ import annotations

import os
import traceback

from .handlers import HANDLERS
from .state import StudentError, WorkerState


def dispatch(state: WorkerState, request: dict, arrays: dict) -> tuple[dict, dict]:
    handler = HANDLERS.get(request.get("op"))
    if handler is None:
        return {"ok": False, "failure": "protocol", "message": f"unknown op {request.get('op')!r}"}, {}
    try:
        header, out = handler(state, request, arrays)
        return {"ok": True, **header}, out
    except StudentError as error:
        return {"ok": False, "failure": "student", **error.info}, {}
    except (LookupError, FileNotFoundError) as error:
        return {"ok": False, "failure": "missing", "message": str(error).strip("'\"")[:500]}, {}


def close_quietly(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def serve(state: WorkerState, request_fd: int, reply_fd: int, special=None) -> None:
    """Answer requests until the channel closes (the grader kills the worker once its submission is graded).

    ``special(request)`` may take an op the handlers do not know: it returns a reply to send, or
    ``False`` to stop serving (the channel has been handed on).
    """
    from ..common.protocol import ChannelClosed, read_message, write_message

    # A process the student's code forks must never answer for the worker: it loses the channel.
    os.register_at_fork(after_in_child=lambda: close_quietly(request_fd, reply_fd))
    while True:
        try:
            request, arrays = read_message(request_fd)
        except ChannelClosed:
            return
        if special is not None and request.get("op") not in HANDLERS:
            reply = special(request)
            if reply is False:
                return
            write_message(reply_fd, reply)
            continue
        try:
            header, out = dispatch(state, request, arrays)
        except Exception:  # a fault of the grader's own code: report it, keep serving
            header, out = {"ok": False, "failure": "internal", "message": traceback.format_exc(limit=-8)}, {}
        write_message(reply_fd, header, out)
