"""The submission's .py files as the worker imported them: what each defines, and how its import ended."""

from __future__ import annotations

from . import limits
from .outcomes import CheckFailed


def describe_stop(stopped: dict) -> str:
    frames = stopped.get("frames") or []
    where = f" at line {frames[0]['line']} ({str(frames[0]['code'])[:200]})" if frames else ""
    advice = {
        "training": "; put the training under `if __name__ == \"__main__\":` so that importing the file "
                    "only defines your classes",
        "timeout": "; move long-running code under `if __name__ == \"__main__\":`",
        "exit": "; a file should not exit when it is imported",
        "fork": "; a file should not start processes when it is imported",
    }.get(stopped.get("reason"), "")
    return f"{str(stopped['detail'])[:300]}{where}. Everything defined above that point was graded{advice}."


def import_file(ctx, file: str) -> dict:
    """The worker's account of importing ``file`` (cached). Raises CheckFailed if it is absent."""
    if not ctx.submission.has(file):
        raise CheckFailed(f"{file} is missing from the submission")
    if ctx.notebook.file:
        ctx.notebook.ready()  # the notebook runs first: its kernel then serves every request
    key = ("import", file)
    if key not in ctx.cache:
        try:
            header, _ = ctx.link.call("import", f"importing {file}", limits.import_timeout(ctx.assignment), file=file)
        except CheckFailed as failure:  # the import killed the worker: do not try again for every check
            header = {"ok": False, "error": {"type": "", "message": str(failure), "frames": []},
                      "names": [], "kinds": {}, "own": [], "stopped": None}
        ctx.cache[key] = header
        if header.get("stopped"):
            ctx.notes.append(f"{file}: {describe_stop(header['stopped'])}")
        for stand_in in header.get("stand_ins", []):
            ctx.note(f"{file}: {stand_in}; the grader's checks on the real data set are not gradable here")
        if header.get("cuda_requests") and not ctx.cache.get(("cuda noted",)):
            ctx.cache[("cuda noted",)] = True
            ctx.notes.append(f"{file}: the code asks for a CUDA GPU; there is none here, so it ran on the CPU")
    return ctx.cache[key]
