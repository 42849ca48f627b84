"""The public part of an assignment: what a student kit's ``assignment.toml`` holds, and what it leaves out.

Kept: the assignment's identity, problems, data sets, notebook, files and
subjects, with the visible checks that compare a submission with the handout
alone (files, imports, classes, layer lists, shapes, parameter counts...).
Each model that the answer key trains to a calibrated bar gets instead one
``training_smoke`` check of 0 points and a short recipe. Left out, and counted
by kind in the kit's ``kit.toml``: hidden checks, checks against calibrated
bars, and checks against values the answer key computes. Never written:
thresholds, calibration, analytic answers, solutions, written model answers.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from ..grading.locate import Subject
from ..grading.registry import CHECK_TYPES
from ..spec import Assignment, CheckSpec, Recipe, SubjectSpec
from .smoke import CHECK as SMOKE_CHECK

# Check types a kit keeps as they are: they compare with the handout alone (names, layers, shapes, counts the
# handout gives, what a function returns), never with a calibrated bar or a value computed by the answer key.
KEPT = frozenset(name for name, kind in CHECK_TYPES.items() if "public" in kind.tags and name != SMOKE_CHECK)
SMOKED = frozenset(name for name, kind in CHECK_TYPES.items() if "smoke" in kind.tags)  # a smoke test instead
TRAINED = frozenset(name for name, kind in CHECK_TYPES.items() if "trains" in kind.tags and name != SMOKE_CHECK)
TOP_KEPT = ("id", "title", "course", "problem_label", "problems", "notebook", "data")

HIDDEN = "hidden checks"
BARS = "trained models against the answer key's bars"
KEY_VALUES = "comparisons with the answer key's values"
WRITTEN = "written answers"

SMOKE_STEPS = 50  # at most this many optimizer steps of the brief recipe
SMOKE_TRAIN_SAMPLES = 2000
SMOKE_EVAL_SAMPLES = 200
_RECIPE_REQUIRED = ("task", "data", "steps", "batch_size", "optimizer", "lr")
_RECIPE_DROPPED = ("name", "subject", "kwargs", "pca", "eval_random", "slack", "description")


@dataclass(frozen=True)
class PublicPart:
    data: dict  # the kit's assignment.toml
    instructor: dict[str, float]  # kind of check -> automatic points the kit leaves to the instructor


def public_part(assignment: Assignment, raw: dict) -> PublicPart:
    """The kit's assignment.toml from the answer key's (``raw``, as read) and its parsed form."""
    instructor: Counter = Counter()
    data = {key: raw[key] for key in TOP_KEPT if key in raw}
    files = _files(assignment, raw.get("files", {}), instructor)
    answers = _answers(assignment, raw.get("answers", {}), instructor)
    models, recipes = {}, {}
    for key, spec in assignment.subjects.items():
        models[key] = _subject(assignment, spec, raw["models"][key], instructor, recipes)
    data.update({name: value for name, value in (("files", files), ("answers", answers), ("models", models),
                                                 ("recipes", recipes)) if value})
    return PublicPart(data, {kind: float(points) for kind, points in instructor.items() if points})


def _files(assignment: Assignment, raw: dict, instructor: Counter) -> dict:
    kept = {}
    for spec in assignment.files:
        checks = {}
        for key, check in spec.checks.items():
            if check.visibility == "visible":
                checks[key] = raw[spec.name]["checks"][key]
            else:
                instructor[HIDDEN] += check.points
        kept[spec.name] = {**raw[spec.name], "checks": checks}
    return kept


def _answers(assignment: Assignment, raw: dict, instructor: Counter) -> dict:
    """Only answers checked for their form (a span of values, a shape): a value would be the answer key's."""
    spec = assignment.answers
    if spec is None:
        return {}
    kept = {}
    for name, variable in spec.variables.items():
        if spec.visibility != "visible":
            instructor[HIDDEN] += variable.points
        elif variable.span or variable.shape:
            kept[name] = raw["variables"][name]
        else:
            instructor[KEY_VALUES] += variable.points
    if not kept:
        return {}
    return {**{k: v for k, v in raw.items() if k not in ("variables", "tolerance")}, "variables": kept}


def _cases(spec: SubjectSpec, check: CheckSpec) -> int:
    """How many graded checks one declared check makes (one per variant of a sweep, when it says so)."""
    from ..grading.registry import check_type

    return len(spec.variant_kwargs()) if check.per_variant and not check_type(check).sweep else 1


def _subject(assignment: Assignment, spec: SubjectSpec, raw: dict, instructor: Counter, recipes: dict) -> dict:
    entry = {k: v for k, v in raw.items() if k not in ("checks", "reference")}
    checks, trained = {}, []
    for key, check in spec.checks.items():
        points = check.points * _cases(spec, check)
        if check.visibility != "visible":
            instructor[HIDDEN] += points
            continue
        kept = _kept_check(assignment, spec, check, raw["checks"][key]) if check.type in KEPT else None
        if kept is not None:
            checks[key] = kept
            continue
        instructor[BARS if check.type in TRAINED else KEY_VALUES] += points
        if check.type in SMOKED:
            trained.append(check)
    if trained:
        checks[SMOKE_CHECK] = _smoke_check(assignment, trained, recipes)
    if checks:
        entry["checks"] = checks
    return entry


def _kept_check(assignment: Assignment, spec: SubjectSpec, check: CheckSpec, raw):
    """The check as the kit writes it; None when it needs the answer key at grading time."""
    if check.type == "parameter_count" and check.options.get("count") == "solution":
        if check.per_variant:
            return None
        from ..grading.registry import reference_parameters

        table = raw if isinstance(raw, dict) else {"points": raw}
        return {**table, "count": reference_parameters(assignment, Subject(spec, dict(spec.kwargs)))}
    return raw


def _smoke_check(assignment: Assignment, trained: list[CheckSpec], recipes: dict) -> dict:
    """One smoke test for a model's brief trainings: the first that is not an anomaly detector's, if any."""
    chosen = next((c for c in trained if assignment.recipe(c.options["recipe"]).task != "anomaly"), trained[0])
    brief = assignment.recipe(chosen.options["recipe"])
    name, start = smoke_recipes(brief)
    recipes[name], recipes[start] = _recipe_table(brief, SMOKE_STEPS), _recipe_table(brief, 1)
    check = {"points": 0, "recipe": name, "start": start}
    if "predict" in chosen.options:
        check["predict"] = chosen.options["predict"]
    if chosen.hint:
        check["hint"] = chosen.hint
    return check


def smoke_recipes(recipe: Recipe) -> tuple[str, str]:
    """The names of the smoke test's recipe and of its first step."""
    return f"{recipe.name}-smoke", f"{recipe.name}-smoke-start"


def _recipe_table(recipe: Recipe, steps: int) -> dict:
    """A short version of ``recipe``: at most ``steps`` steps on small subsets; an anomaly detector's trained as
    an autoencoder of its inliers' data set (the smoke test asks only that the error falls)."""
    short = dataclasses.replace(
        recipe, steps=min(recipe.steps, steps),
        train_samples=min(recipe.train_samples or SMOKE_TRAIN_SAMPLES, SMOKE_TRAIN_SAMPLES),
        eval_samples=min(recipe.eval_samples or SMOKE_EVAL_SAMPLES, SMOKE_EVAL_SAMPLES),
        **({"task": "reconstruct", "inlier": []} if recipe.task == "anomaly" else {}),
    )  # fmt: skip
    defaults = Recipe(name="", task="reconstruct", data="", steps=1, batch_size=0, optimizer="adam", lr=0.0)
    table = {key: value for key, value in short.as_dict().items() if key not in _RECIPE_DROPPED and
             (key in _RECIPE_REQUIRED or value != getattr(defaults, key))}
    what = "its first step" if steps == 1 else f"at most {steps} steps"
    table["description"] = f"A smoke test of the grader's brief training ({recipe.name}): {what}."
    return table
