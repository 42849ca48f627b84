"""Which checks run on a submission, in which order, for how many points: read from the assignment.

Each subject's checks table names its checks (like scikit-learn's tags choose
estimator checks); the engine never asks which assignment it is grading. A
check is a measurement and a judgement, composed here; checks run by stage:
the fast structural ones first, training last.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

from ..answer_key import analytic_answer
from ..results import Verdict
from ..spec import Assignment, CheckSpec
from .checks import answers, files, notebooks
from .checks.expected import Expected
from .imports import import_file
from .locate import Subject, subjects_of, variants_of, with_arguments
from .outcomes import CheckFailed
from .registry import check_type

STAGES = ("files", "imports", "structure", "behaviour", "answers", "training", "weights")


@dataclass(frozen=True)
class CheckCase:
    check_id: str  # stable and readable: "2/Net/code_size", "2c/Net[width=35]/brief_training"
    title: str
    problem: str
    points: float
    stage: str
    visibility: str
    run: Callable  # (GradingContext) -> Verdict; raises CheckFailed or NotGradable
    hint: str | None = None  # added to the feedback of a failed check

    @property
    def name(self) -> str:
        return self.check_id.rsplit("/", 1)[-1]


class _Fields(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _title(template: str, **fields) -> str:
    return string.Formatter().vformat(template, (), _Fields(fields))


def _check_id(problem: str, *parts: str) -> str:
    return "/".join(p for p in (problem, *parts) if p)


def _subject_case(assignment: Assignment, subject: Subject, check: CheckSpec) -> CheckCase:
    kind = check_type(check)
    spec = subject.spec
    options = with_arguments(check.options, subject.kwargs)
    check = CheckSpec(**{**check.__dict__, "options": options})
    if check.type == "weights_load":
        options.setdefault("names", list(spec.weights))
        if _name_check(assignment, spec.weights):
            options.setdefault("name_check", _name_check(assignment, spec.weights))
    expected = Expected(subject.label, options, assignment.problem_name(spec.problem))

    def run(ctx) -> Verdict:
        return kind.judge(kind.measure(ctx, subject, check), expected)

    fields = {"argument": next(iter(spec.variants), ""), **options}
    title = _title(check.title or kind.title, name=subject.label, call=subject.call_text(), **fields)
    return CheckCase(_check_id(spec.problem, subject.key, check.key), title, spec.problem, check.points,
                     kind.stage, check.visibility, run, check.hint)


def _file_cases(assignment: Assignment) -> list[CheckCase]:
    cases = []
    for spec in assignment.files:
        for check in spec.checks.values():
            measure = _file_present if check.type == "present" else _file_import
            judge = files.check_file_present if check.type == "present" else files.check_module_imports
            title = (check.title or ("{file} is present" if check.type == "present" else "{file} imports")).format(
                file=spec.name)
            stage = "files" if check.type == "present" else "imports"

            def run(ctx, file=spec.name, measure=measure, judge=judge):
                return judge(measure(ctx, file), Expected(file))

            cases.append(CheckCase(f"files/{spec.name}/{check.key}", title, spec.problem, check.points, stage,
                                   check.visibility, run, check.hint))
    return cases


def _name_check(assignment: Assignment, names) -> str | None:
    """The id of a ``present`` check under ``[files]`` on one of a weight file's names: the check on its name."""
    return next((f"files/{spec.name}/{check.key}" for spec in assignment.files if spec.name in names
                 for check in spec.checks.values() if check.type == "present"), None)


def _file_present(ctx, file: str) -> dict:
    return {"present": ctx.submission.has(file),
            "renamed_from": ctx.submission.renamed.get(file) or _weights_found_by_contents(ctx, file),
            "look_alikes": ctx.submission.look_alikes([file])}


def _weights_found_by_contents(ctx, file: str) -> str | None:
    """Where ``file`` is a subject's weight file, missing, the file of another name graded for it (its tensors
    fit the subject)."""
    from .measure.weight_files import choose

    if ctx.submission.has(file):
        return None
    for spec in ctx.assignment.subjects.values():
        if file in spec.weights and not any(ctx.submission.has(name) for name in spec.weights):
            try:
                chosen = choose(ctx, subjects_of(spec)[0])
            except CheckFailed:
                return None
            return chosen.file if chosen.instead_of else None
    return None


def _file_import(ctx, file: str) -> dict:
    if not ctx.submission.has(file):
        raise CheckFailed(f"not checked: {file} is missing")
    if ctx.scratch_path(file).stat().st_size == 0:
        return {"empty": True}
    return import_file(ctx, file)


def _notebook_report(ctx) -> dict | None:
    if ctx.notebook.file is None:
        return None
    if ctx.notebook.problem():
        return {"ran": False, "problem": ctx.notebook.problem()}
    return ctx.notebook.report()


def _answer_cases(assignment: Assignment) -> list[CheckCase]:
    from .measure.answers import student_answer

    cases = []
    spec = assignment.answers
    for variable in spec.variables.values():
        options = {"rtol": spec.tolerance, **(variable.span or {}), **({"shape": variable.shape} if variable.shape
                                                                         else {})}
        expected = Expected(variable.variable, options, assignment.problem_name(variable.problem))

        def run(ctx, variable=variable, expected=expected):
            answer = student_answer(ctx, variable)
            if variable.span:
                return answers.check_value_span(answer, expected)
            if variable.shape:
                return answers.check_value_shape(answer, expected)
            value = ctx.memo(("analytic", variable.problem), lambda: analytic_answer(assignment, variable.problem))
            found = value.as_dict()[variable.key] if hasattr(value, "as_dict") else value[variable.key]
            return answers.check_numeric_answer({**answer, "expected": found}, expected)

        title = variable.title or f"{assignment.problem_name(variable.problem)}: {variable.variable}"
        cases.append(CheckCase(f"{variable.problem}/answers/{variable.variable}", title, variable.problem,
                               variable.points, "answers", spec.visibility, run))
    return cases


def plan_checks(assignment: Assignment) -> list[CheckCase]:
    cases = []
    if assignment.notebook is not None:
        required = assignment.notebook.required

        def run(ctx):
            return notebooks.check_notebook_runs(_notebook_report(ctx),
                                                 Expected(ctx.notebook.file or "", {"required": required}))

        cases.append(CheckCase("notebook/runs", "The notebook runs", "", assignment.notebook.points, "imports",
                               "visible", run))
    cases += _file_cases(assignment)
    for spec in assignment.subjects.values():
        for check in spec.checks.values():
            swept = check.per_variant and not check_type(check).sweep
            for subject in (variants_of(spec) if swept else subjects_of(spec)):
                cases.append(_subject_case(assignment, subject, check))
    if assignment.answers:
        cases += _answer_cases(assignment)
    return sorted(cases, key=lambda case: STAGES.index(case.stage))
