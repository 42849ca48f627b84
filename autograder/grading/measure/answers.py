"""The numeric answers a submission holds: the variables of its answers file, or of its notebook."""

from __future__ import annotations

from .. import limits
from ..outcomes import CheckFailed, student_traceback


def student_values(ctx) -> dict:
    """``{"file", "values": {name: {"value", "type"}}, "import_failed"}`` read by the worker (cached)."""
    def measure():
        spec = ctx.assignment.answers
        file = spec.file
        if (not file or not ctx.submission.has(file)) and ctx.notebook.ready():
            if file:
                ctx.note(f"{spec.file} is missing; the numeric answers were read from the variables of the notebook "
                         f"{ctx.notebook.file}")
            file = ctx.notebook.file
        if not file:
            raise CheckFailed("the notebook could not be run, so its answers could not be read")
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


def student_answer(ctx, spec) -> dict:
    """The answer to ``spec`` (an AnswerSpec): its variable, or for a text answer, the last number written
    under the problem's heading in the notebook."""
    variable = spec.variable
    try:
        values = student_values(ctx)
    except CheckFailed:
        if not spec.text:
            raise
        values = {"file": ctx.notebook.file, "values": {}, "import_failed": None}
    answer = {"file": values["file"]}
    if variable in values["values"]:
        found = values["values"][variable]
        answer.update(found=found["value"], type=found["type"])
        if "shape" in found:
            answer["shape"] = tuple(found["shape"])
    elif spec.text and (written := _written_number(ctx, spec.problem)) is not None:
        answer.update(found=written[0], type="text", text=written[1], file=ctx.notebook.file)
    elif values["import_failed"]:
        answer["import_failed"] = values["import_failed"]
    return answer


def _written_number(ctx, problem: str):
    from ...notebooks import text_answer

    if ctx.notebook.file is None or ctx.notebook.problem() or ctx.notebook._validated is None:
        return None
    return text_answer(ctx.notebook._validated, problem)
