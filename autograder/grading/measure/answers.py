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
        where = {}
        if file == ctx.notebook.file:  # a notebook: each answer as its problem's own cells left it
            where = {name: {"cells": ctx.notebook.window(answer.problem), "role": answer.role}
                     for name, answer in spec.variables.items()}
            unplaced = [name for name, w in where.items() if w["cells"] is None and spec.variables[name].problem]
            if unplaced and not spec.file:
                ctx.note(f"{file}: no heading names the problem of {', '.join(unplaced)}, so "
                         f"{'it was' if len(unplaced) == 1 else 'they were'} read as the notebook leaves "
                         f"{'it' if len(unplaced) == 1 else 'them'} at its end")
        header, _ = ctx.link.call("values", f"importing {file}", limits.import_timeout(ctx.assignment), file=file,
                                  names=list(spec.variables), where=where)
        imported = header.get("import", {})
        failed = None
        if imported.get("error") and not imported.get("names"):
            failed = student_traceback(imported["error"])
        return {"file": file, "values": header["values"], "elsewhere": header.get("elsewhere", {}),
                "import_failed": failed}

    return ctx.memo(("answers",), measure)


def student_answer(ctx, spec) -> dict:
    """The answer to ``spec`` (an AnswerSpec): its variable (in a notebook, as the problem's cells left it, or
    what plays its part there), or for a text answer, the numbers written under the problem's heading."""
    variable = spec.variable
    try:
        values = student_values(ctx)
    except CheckFailed:
        if not spec.text:
            raise
        values = {"file": ctx.notebook.file, "values": {}, "import_failed": None}
    answer = {"file": values["file"], "problem": ctx.assignment.problem_name(spec.problem)}
    if variable in values["values"]:
        found = values["values"][variable]
        answer.update(found=found["value"], type=found["type"], how=found.get("found") or {})
        if "shape" in found:
            answer["shape"] = tuple(found["shape"])
        if answer["how"].get("by") in ("scatter", "plot_x"):
            ctx.note(found_by_role(answer["problem"], variable, answer["how"]))
    elif spec.text and (written := _written_numbers(ctx, spec.problem)) is not None:
        answer.update(type="text", written=[w.as_dict() for w in written], file=ctx.notebook.file)
    elif values["import_failed"]:
        answer["import_failed"] = values["import_failed"]
    elif variable in values.get("elsewhere", {}):
        answer["elsewhere"] = [cell + 1 for cell in values["elsewhere"][variable]]
    return answer


def found_by_role(problem: str, variable: str, how: dict) -> str:
    what = "the data of the scatter plot" if how["by"] == "scatter" else "the x values of the line plot"
    named = f" (`{how['name']}`)" if how.get("name") else ""
    return (f"{problem or 'the notebook'}: {variable} is not bound in its cells, so {what} drawn in cell "
            f"{how['cell'] + 1}{named} was graded as {variable}")


def _written_numbers(ctx, problem: str):
    from ...notebooks import text_answer

    if ctx.notebook.file is None or ctx.notebook.problem() or ctx.notebook._validated is None:
        return None
    return text_answer(ctx.notebook._validated, problem)
