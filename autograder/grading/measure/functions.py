"""Plain functions called in the worker at arguments the grader chooses; models swept over a variant; what a
Keras model was fit on."""

from __future__ import annotations

from ...tasks import task_of
from ..locate import Subject, reference, variants_of
from ..outcomes import CheckFailed
from . import models as m
from .training import train

CASE_OPTIONS = ("cases", "reference", "rtol", "atol")
CALL_OPTIONS = ("predict",)  # {arg, loader, part, count}: the model argument then predicts that loader's inputs
SWEEP_OPTIONS = ("keys", "steps", "argument")


def _reference_function(ctx, name: str):
    """``module:function`` of the answer key, imported here (trusted)."""
    from ...answer_key import answer_key_object

    return answer_key_object(ctx.assignment, name)


def call(ctx, subject: Subject, kwargs: dict, args: list | None = None, steps: int | None = None) -> dict:
    """Call the function subject with these arguments; the worker's plain account of what it returned."""
    ref = {**reference(ctx, subject), "kwargs": kwargs, "args": list(args or [])}
    header, _ = ctx.link.call("call", f"calling {subject.spec.name}", 600 if steps else None, model=ref,
                              steps=steps)
    return {"value": header["value"], "model": header.get("model")}


def call_cases(ctx, subject: Subject, check) -> list[dict]:
    """Each case called on the student's function and on the answer key's."""
    def measure():
        reference_function = _reference_function(ctx, check.options["reference"]) if "reference" in \
            check.options else None
        results = []
        for case in check.options["cases"]:
            args, kwargs = list(case.get("args", [])), dict(case.get("kwargs", {}))
            entry = {"args": args, "kwargs": kwargs}
            try:
                entry["found"] = call(ctx, subject, kwargs, args)["value"]
            except CheckFailed as failure:
                entry["error"] = str(failure)
            if reference_function is not None:
                entry["expected"] = reference_function(*args, **kwargs)
            elif "expected" in case:
                entry["expected"] = case["expected"]
            results.append(entry)
        return results

    return ctx.memo(("cases", subject.key, check.key), measure)


def sweep_calls(ctx, subject: Subject, check) -> dict:
    """The function called at every variant of its sweep (Keras fits inside capped at ``steps`` batches)."""
    def measure():
        steps = int(check.options.get("steps", 100))
        results = []
        for variant in variants_of(subject.spec):
            try:
                results.append({"kwargs": variant.kwargs, **call(ctx, subject, variant.kwargs, steps=steps)})
            except CheckFailed as failure:
                results.append({"kwargs": variant.kwargs, "error": str(failure)})
        argument = check.options.get("argument") or next(iter(subject.spec.variants))
        return {"argument": argument, "results": results, "steps": steps}

    return ctx.memo(("sweep calls", subject.key, int(check.options.get("steps", 100))), measure)


def sweep(ctx, subject: Subject, check) -> dict:
    """Brief training at every variant of the subject's sweep (one seed each): the held-out errors in order."""
    recipe_name = check.options["recipe"]
    recipe = ctx.assignment.recipe(recipe_name)
    task = task_of(recipe)
    argument = check.options.get("argument") or next(iter(subject.spec.variants))
    values, errors = [], []
    for variant in variants_of(subject.spec):
        value, _ = train(ctx, variant, recipe_name, 0, check.options.get("predict"))
        values.append(variant.kwargs[argument])
        errors.append(value if task.pass_if == "at most" else 1.0 - value)
    metric = task.metric_name(recipe) if task.pass_if == "at most" else f"error (1 - {task.metric_name(recipe)})"
    where = f"on {recipe.eval_random} standard-normal inputs" if recipe.eval_random else "on held-out data"
    return {"argument": argument, "values": values, "errors": errors, "metric": f"{metric} {where}"}


def fit_record(ctx, subject: Subject) -> dict:
    """What the Keras model the subject names was fit on, as the worker summarised it."""
    found = m.probe(ctx, subject).describe.get("found") or {}
    return found.get("fit") or {}


def call_traced(ctx, subject: Subject, check) -> dict:
    """The function called once with the subject's arguments (the grader's data in its loaders), with what it
    returned, the training it did, and, if the check asks, what the model it was given then predicts for one
    of the loaders' inputs (the loader's labels stay here)."""
    from ..arguments import compile_arguments

    predict = check.options.get("predict")

    def measure():
        compiled = compile_arguments(ctx, subject)
        ref = {**reference(ctx, subject), "args": compiled.args, "kwargs": compiled.kwargs}
        arrays = dict(compiled.arrays)
        request = {}
        if predict:
            inputs, labels = compiled.loaders[predict.get("loader", next(iter(compiled.loaders)))]
            count = int(predict.get("count", len(inputs)))
            arrays["predict_inputs"] = inputs[:count]
            request["predict_with"] = {"arg": predict.get("arg", 0), "inputs": "predict_inputs",
                                       "part": predict.get("part", "forward"), "parts": predict.get("parts", {})}
        header, out = ctx.link.call("call", f"calling {subject.call_text()}", 300, arrays=arrays, model=ref,
                                    **request)
        measured = {"value": header["value"], "training": header.get("training", {}), "kwargs": subject.kwargs,
                    "data": compiled.data}
        if predict:
            measured["predicted"] = out.get("predicted")
            measured["labels"] = labels[:count]
        return measured

    key = ("call", subject.key, repr(predict))
    return ctx.memo(key, measure)


def scatters(ctx, subject: Subject, check) -> dict:
    """The scatter plots the notebook drew in the subject's problem (each with its colours, when they are
    numbers, and the labels the DataLoaders of the cells before it gave, in order)."""
    report = ctx.notebook.report()
    window = ctx.notebook.window(subject.spec.problem)
    found = [plot for plot in report.get("scatters", [])
             if window is None or (plot["cell"] is not None and window[0] <= plot["cell"] < window[1])]
    return {"scatters": found, "problem": ctx.assignment.problem_name(subject.spec.problem)}
