"""Running a script subject (a command-line program) in the worker, and scoring the weights it wrote.

The worker runs the file once per submission (``worker/scripts.py``) and sends
back plain data: how the run ended, what it printed, the files it wrote, and
whether each declared weight file loads. The weights a script wrote are then
loaded into the model subject the check names and scored on held-out data
here, as the submitted weights of ``trained_weights`` are.
"""

from __future__ import annotations

from .. import limits
from ..locate import Subject, subjects_of
from ..outcomes import CheckFailed
from . import training
from .models import probe, usable_input_shape
from .weight_files import WEIGHT_SUFFIXES

REPORT_SECONDS = 60  # on top of the script's own limit: starting its interpreter, copying, loading weight files


def step_budget(assignment, subject: Subject) -> int:
    """The optimizer steps the script may take: its own ``steps``, else the steps of the recipe its written weights
    are scored with, else a notebook cell's budget."""
    if subject.spec.steps:
        return subject.spec.steps
    recipes = [c.options["recipe"] for c in subject.spec.checks.values()
               if c.type == "written_weights" and c.options.get("recipe") in assignment.recipes]
    if recipes:
        return assignment.recipe(recipes[0]).steps
    return (assignment.notebook.step_budget if assignment.notebook else None) or limits.NOTEBOOK_STEP_BUDGET


def script_seconds(assignment, subject: Subject, steps: int) -> float:
    """Seconds of computing the run may take: the subject's ``limit_seconds``, else a brief training's limit for
    its step budget."""
    if subject.spec.limit_seconds:
        return subject.spec.limit_seconds
    base = assignment.limits.training_base or limits.TIMEOUT_TRAIN_BASE
    return base + (assignment.limits.training_per_step or limits.TIMEOUT_TRAIN_PER_STEP) * steps


def command(subject: Subject) -> str:
    return " ".join(["python", subject.spec.script, *subject.spec.args])


def _weight_names(subject: Subject) -> list[str]:
    """The files whose loading the worker reports: the written weights' file, and written weight files."""
    names = [c.options["file"] for c in subject.spec.checks.values() if c.type == "written_weights"]
    names += [f for c in subject.spec.checks.values() if c.type == "writes" for f in c.options.get("files", [])
              if f.lower().endswith(WEIGHT_SUFFIXES) and not any(ch in f for ch in "*?[")]
    return list(dict.fromkeys(names))


def script_run(ctx, subject: Subject) -> dict:
    """The worker's account of running the script once (remembered for every check of the subject)."""
    def measure():
        spec, assignment = subject.spec, ctx.assignment
        if not ctx.submission.has(spec.script):
            raise CheckFailed(f"not run: {spec.script} is missing from the submission")
        steps = step_budget(assignment, subject)
        seconds = script_seconds(assignment, subject, steps)
        header, _ = ctx.link.call(
            "run_script", f"running {command(subject)}", seconds + REPORT_SECONDS, file=spec.script,
            args=list(spec.args), steps=steps, seconds=seconds, key=spec.key, weights=_weight_names(subject),
        )  # fmt: skip
        return {**header, "command": command(subject), "script": spec.script}

    return ctx.memo(("script", subject.spec.key), measure)


def written_weights(ctx, subject: Subject, check) -> dict:
    """The weight file the script wrote, loaded into the model subject ``model`` in the worker (weights_only,
    strict keys), and its held-out predictions scored against the recipe's bar (None where it does not load)."""
    run = script_run(ctx, subject)
    file, recipe = check.options["file"], check.options["recipe"]
    model = subjects_of(ctx.assignment.subjects[check.options["model"]])[0]
    found = run.get("weights", {}).get(file) or {"exists": False}
    measured = {"run": run, "file": file, "model": model.label, "loaded": None, "scored": None}
    if not found.get("exists"):
        return measured

    def measure():
        data = training.task_data(ctx, model, recipe, usable_input_shape(ctx, model))
        predict = training.predict_part(ctx, model, check.options.get("predict"))
        header, out = ctx.link.call("weights_predict", f"loading {file} (written by {subject.spec.script}) into "
                                    f"{model.label}", arrays={"eval_inputs": data.eval_inputs},
                                    model=probe(ctx, model).ref, weights=f"{run['folder']}/{file}", part=predict)
        loaded = training.WeightsLoad(file, header, None, out.get("outputs"), None)
        if not header.get("loaded"):
            return loaded, None
        training.agree(header, model.label)
        return loaded, training.scored_once(ctx, recipe, training.score(ctx, recipe, data, loaded.outputs))

    measured["loaded"], measured["scored"] = ctx.memo(("written weights", subject.spec.key, file, model.key, recipe),
                                                      measure)
    return measured
