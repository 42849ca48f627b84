"""Running planned checks: each gives a result, whatever the student's code (or the machine) does.

A check that passes earns its points; one that fails earns none and says why,
with the assignment's hint; one that needs what this machine lacks is "not
gradable here" and counts neither way. The grader's own faults are told to the
student as such, and to the staff with the traceback.
"""

from __future__ import annotations

import time
import traceback

from ..results import CheckResult, Verdict, submission_name
from .outcomes import CheckFailed, NotGradable
from .plan import CheckCase

WHOLE = "the whole submission"  # the profile's total: wall, the worker's CPU over every call, the grader's CPU

INTERNAL_ERROR = ("the grader itself failed on this check (not a fault found in your work); "
                  "the course staff have the details")


def _spent(started: float, grader_started: float, worker_cpu: float | None = None) -> dict:
    """A profile row from its start marks (``time.monotonic()``, ``time.thread_time()``): wall, the grader's CPU
    and, where the row has calls to the worker, their CPU. ``grade`` rounds every row once at the end."""
    entry = {"wall": time.monotonic() - started, "grader_cpu": time.thread_time() - grader_started, "count": 1}
    if worker_cpu is not None:
        entry["worker_cpu"] = worker_cpu
    return entry


def run_check(ctx, case: CheckCase) -> CheckResult:
    """One check's result; its wall and CPU time go to the profile (the grader's CPU is this thread's: a batch
    grades several submissions at once, one per thread)."""
    started, starting = time.monotonic(), ctx.stage_seconds.get("start", 0.0)
    grader_cpu, worker_cpu = time.thread_time(), ctx.link.cpu_seconds
    status = None
    try:
        verdict = case.run(ctx)
    except CheckFailed as failure:
        verdict = Verdict(False, str(failure))
    except NotGradable as missing:
        verdict, status = Verdict(False, str(missing)), "not gradable"
    except Exception:  # the grader's own fault: the student is told so, the staff get the traceback
        ctx.staff_log.append(f"{case.check_id}: internal error\n{traceback.format_exc()}")
        verdict = Verdict(False, INTERNAL_ERROR)
    feedback = verdict.feedback
    if not verdict.passed and status is None and case.hint and not feedback.startswith("not "):
        feedback = f"{feedback.rstrip()}{'' if feedback.rstrip().endswith(('.', '!', '?')) else '.'} {case.hint}"
    seconds = time.monotonic() - started - (ctx.stage_seconds.get("start", 0.0) - starting)
    ctx.stage_seconds[case.stage] = ctx.stage_seconds.get(case.stage, 0.0) + seconds
    ctx.link.profile[f"check {case.check_id}"] = _spent(started, grader_cpu, ctx.link.cpu_seconds - worker_cpu)
    return CheckResult(
        check_id=case.check_id, title=case.title, problem=case.problem, max_points=case.points,
        points=case.points if verdict.passed else 0.0, passed=verdict.passed, feedback=feedback,
        visibility=case.visibility, stage=case.stage, seconds=round(seconds, 3),
        status=status or ("passed" if verdict.passed else "failed"),
    )  # fmt: skip


def grade(path, *, assignment_id=None, data_dir=None, device="auto", public_only=False, keyword=None,
          share=None, warm=None):
    """Grade one submission: every planned check (or those ``keyword`` selects, as pytest's ``-k`` does), in
    order; never raises for the submission's faults. ``share`` is what its worker is given when several
    submissions are graded at once (default: the whole machine); ``warm`` the batch's warm templates."""
    from ..results import SubmissionResult
    from ..submission import SubmissionError
    from .figures import figures_of
    from .selection import matches
    from .session import grading_session

    started, grader_started = time.monotonic(), time.thread_time()
    result = SubmissionResult(submission=submission_name(path), assignment=assignment_id,
                              selection=selection_text(keyword, public_only))
    try:
        with grading_session(path, assignment_id=assignment_id, data_dir=data_dir, device=device,
                             share=share, warm=warm) as (ctx, cases):
            result.assignment, result.device = ctx.assignment.id, ctx.device
            result.manual = manual_parts(ctx.assignment)
            for case in cases:
                if public_only and case.visibility != "visible":
                    continue
                if keyword and not matches(keyword, case.check_id):
                    continue
                result.checks.append(run_check(ctx, case))
            result.notes = list(dict.fromkeys(ctx.notes))
            result.staff_log = list(ctx.staff_log) + [f"the machine was too busy: {b}" for b in ctx.link.busy] + \
                list(dict.fromkeys(ctx.link.failed_starts))
            figures_started, figures_cpu = time.monotonic(), time.thread_time()
            result.figures = figures_of(ctx)  # made from what measuring kept, after every check
            ctx.add_time("figures", figures_started)
            ctx.link.profile["figures for the feedback page"] = _spent(figures_started, figures_cpu)
            # the total, where the stages above nest (a check holds its trainings)
            ctx.link.profile[WHOLE] = _spent(started, grader_started, ctx.link.cpu_seconds)
            result.stage_seconds = {k: round(v, 3) for k, v in ctx.stage_seconds.items()}
            result.profile = {label: {k: round(v, 3) if isinstance(v, float) else v for k, v in entry.items()}
                              for label, entry in ctx.link.profile.items()}
            settings = ctx.worker.settings
            result.worker = {"threads": settings.threads, "openmp_wait": "passive" if settings.passive_wait else
                             "spinning", "cpu_quota": settings.cpus, "nice": settings.nice}
    except SubmissionError as error:
        result.error = str(error)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def manual_parts(assignment) -> list[dict]:
    """The problems graded by hand (the written answers of ``written.toml``), with their points: reported apart
    from the automatic score, never counted as 0 or as full."""
    import tomllib

    path = assignment.paths.get("written")
    if path is None or not path.is_file():
        return []
    problems = tomllib.loads(path.read_text()).get("problems", [])
    return [{"problem": p["id"], "title": p.get("title", ""), "points": float(p["points"])}
            for p in problems if p.get("points")]


def selection_text(keyword: str | None, public_only: bool = False) -> str | None:
    """How a partial run chose its checks, in words; None for a whole run."""
    chosen = [f"checks selected by -k {keyword}"] if keyword else []
    chosen += ["public checks only"] if public_only else []
    return ", ".join(chosen) or None


def grade_safely(path, **options):
    """``grade``, and should the grader itself fail, a result that says so (with the traceback for the staff)."""
    try:
        return grade(path, **options)
    except Exception as error:  # noqa: BLE001 - one submission's trouble never ends the batch
        return not_graded(path, options, f"the grader itself failed on this submission ({type(error).__name__}); "
                          "the staff have the details", traceback.format_exc())


def not_graded(path, options: dict, why: str, staff: str):
    """The result of a submission the grader could not grade: ``why`` for everyone, ``staff`` for the staff."""
    from ..results import SubmissionResult

    result = SubmissionResult(submission=submission_name(path), assignment=options.get("assignment_id"), error=why)
    result.staff_log.append(staff)
    return result
