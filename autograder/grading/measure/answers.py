"""The numeric answers a submission holds: the variables of its answers file, or of its notebook."""

from __future__ import annotations

from .. import limits
from ..outcomes import CheckFailed, student_traceback


def student_values(ctx) -> dict:
    """``{"file", "values": {name: {"value", "type"}}, "import_failed"}`` read by the worker (cached)."""
    def measure():
        spec = ctx.assignment.answers
        file = spec.file
        if not ctx.submission.has(file) and ctx.notebook.ready():
            file = ctx.notebook.file
            ctx.note(f"{spec.file} is missing; the numeric answers were read from the variables of the notebook "
                     f"{file}")
        if not ctx.submission.has(file):
            raise CheckFailed(f"{file} is missing; put your numeric answers in {file} (see the handout for the "
                              "variable names)")
        header, _ = ctx.link.call("values", f"importing {file}", limits.import_timeout(), file=file,
                                  names=list(spec.variables))
        imported = header.get("import", {})
        failed = None
        if imported.get("error") and not imported.get("names"):
            failed = student_traceback(imported["error"])
        return {"file": file, "values": header["values"], "import_failed": failed}

    return ctx.memo(("answers",), measure)


def student_answer(ctx, variable: str) -> dict:
    values = student_values(ctx)
    answer = {"file": values["file"]}
    if values["import_failed"] and variable not in values["values"]:
        answer["import_failed"] = values["import_failed"]
    elif variable in values["values"]:
        answer.update(found=values["values"][variable]["value"], type=values["values"][variable]["type"])
    return answer
