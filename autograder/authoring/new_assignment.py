"""``autograder new-assignment DIR --from SOLUTION``: a first ``assignment.toml`` drafted from the solution.

The solution (a folder of .py files and weight files, or a notebook) is copied to ``DIR/solution`` and
measured in the grader's worker (``survey.py``); each ``nn.Module`` class becomes a subject with the checks its
measurements support (its layers, parameter count, output shape, code size, weight files, brief training), each
trainable one gets a recipe with a step budget, and a notebook's headings become the problems. What the draft
could only guess (a title, which problem a class answers, the data set an input shape suggests, the budget) is
marked ``# TODO check:`` for the instructor, who then lints, calibrates and grades with it.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .survey import CLASSES, ModelSurvey, Survey, survey

TODO = "# TODO check:"
STEPS = 300  # the brief training's budget, in optimizer steps
BATCH_SIZE = 32
LEARNING_RATES = {"reconstruct": 0.005, "classify": 0.001}  # Adam; an autoencoder leaves the mean-image plateau
SUBSETS = {"mnist": (4000, 1000)}  # train and eval samples of a large data set (a seeded subset)
POINTS = {"constructs": 1, "layer_list": 2, "parameter_count": 1, "output_shapes": 1, "code_size": 1,
          "brief_training": 2, "weights_load": 1, "trained_weights": 2}
FILE_POINTS = {"present": 1, "imports": 1}


class NewAssignmentError(Exception):
    """The draft cannot be written (the message says why and what to do)."""


@dataclass(frozen=True)
class Written:
    toml: Path
    solution: Path
    survey: Survey


# ---------------------------------------------------------------- TOML values


def value(item) -> str:
    """A TOML value: strings, numbers, booleans, lists and inline tables."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float) and item.is_integer():
        return str(int(item))
    if isinstance(item, (int, float, str)):
        return json.dumps(item)
    if isinstance(item, (list, tuple)):
        return "[" + ", ".join(value(v) for v in item) + "]"
    if isinstance(item, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items()) + " }" if item else "{}"
    raise TypeError(f"no TOML value for {item!r}")


def key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def line(name: str, item, comment: str = "") -> str:
    text = f"{key(name)} = {value(item)}"
    return f"{text}  {comment}" if comment else text


# ---------------------------------------------------------------- what each subject is graded on


def task_of(model: ModelSurvey) -> str | None:
    """reconstruct when the output has the input's size, classify when it has one score per class; else None."""
    if not model.output_shape or not model.input_shape or not model.parameters:
        return None
    size = _size(model.output_shape)
    if size == _size(model.input_shape):
        return "reconstruct"
    return "classify" if size == CLASSES.get(model.data) else None


def _size(shape) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def model_checks(model: ModelSurvey, recipe: str | None) -> list[str]:
    """The lines of ``[models.X.checks]``: the checks the measurements of the solution support."""
    lines = [line("constructs", POINTS["constructs"])]
    if model.layers:
        shown = ",\n".join(f"    {json.dumps(layer)}" for layer in model.layers)
        lines.append(f"layer_list = {{ points = {POINTS['layer_list']}, layers = [\n{shown},\n] }}")
    lines.append(line("parameter_count", {"points": POINTS["parameter_count"], "count": "solution"},
                      f"# {model.parameters:,} parameters in the solution"))
    shape = tuple(model.input_shape)
    if task_of(model) == "classify":
        lines.append(line("output_shapes", {"points": POINTS["output_shapes"], "outputs": _size(model.output_shape)},
                          f"# {shape} -> {tuple(model.output_shape)}: one score per class"))
    else:
        lines.append(line("output_shapes", POINTS["output_shapes"], f"# {shape} -> {tuple(model.output_shape)}"))
    if model.code_width:
        lines.append(line("code_size", {"points": POINTS["code_size"], "width": model.code_width},
                          f"{TODO} the width of the solution's code (its encoder's output)"))
    if recipe:
        lines.append(line("brief_training", {"points": POINTS["brief_training"], "recipe": recipe}))
    if model.weights:
        lines.append(line("weights_load", POINTS["weights_load"]))
        if recipe:
            lines.append(line("trained_weights", {"points": POINTS["trained_weights"], "recipe": recipe},
                              f"{TODO} the bar is the solution trained with this recipe's budget"))
    return lines


def check_points(model: ModelSurvey, recipe: str | None) -> float:
    points = POINTS["constructs"] + POINTS["parameter_count"] + POINTS["output_shapes"]
    points += POINTS["layer_list"] if model.layers else 0
    points += POINTS["code_size"] if model.code_width else 0
    points += POINTS["brief_training"] if recipe else 0
    points += (POINTS["weights_load"] + (POINTS["trained_weights"] if recipe else 0)) if model.weights else 0
    return points


def recipe_lines(name: str, model: ModelSurvey, task: str) -> list[str]:
    what = "an autoencoder: its output has its input's shape" if task == "reconstruct" else \
        f"a classifier: one score for each of the {CLASSES[model.data]} classes of {model.data}"
    lines = [f"[recipes.{name}]",
             line("description", f"Brief training of {model.name} (drafted by new-assignment)."),
             line("task", task, f"{TODO} {model.name} looks like {what}"),
             line("data", model.data, f"{TODO} guessed from its input shape {tuple(model.input_shape)}"),
             line("steps", STEPS, f"{TODO} the budget in optimizer steps: calibration says whether the solution "
                                  "clearly beats the trivial answer under it"),
             line("batch_size", BATCH_SIZE),
             line("optimizer", "adam"),
             line("lr", LEARNING_RATES[task])]
    if model.data in SUBSETS:
        train, evaluate = SUBSETS[model.data]
        lines += [line("train_samples", train), line("eval_samples", evaluate)]
    return lines


# ---------------------------------------------------------------- the draft


def _keys(models: list[ModelSurvey]) -> dict[int, str]:
    keys, used = {}, set()
    for index, model in enumerate(models):
        name, n = model.name, 2
        while name in used:
            name, n = f"{model.name}_{n}", n + 1
        used.add(name)
        keys[index] = name
    return keys


def render(found: Survey, assignment_id: str, solution_name: str, origin: str) -> str:
    """The text of the draft ``assignment.toml``."""
    problems = {h.problem: h.title for h in found.headings} or {"1": ""}
    first = next(iter(problems))
    measured = [m for m in found.models if not m.error]
    keys = _keys(found.models)
    recipes = {i: f"{keys[i]}-brief" for i, m in enumerate(found.models) if not m.error and task_of(m)}
    points = dict.fromkeys(problems, 0.0)
    for index, model in enumerate(found.models):
        if not model.error:
            points[model.problem if model.problem in problems else first] += check_points(model, recipes.get(index))
    file_problem = {}
    for model in found.models:
        file_problem.setdefault(model.source, model.problem if model.problem in problems else first)
    for file in found.python_files:
        points[file_problem.get(file, first)] += sum(FILE_POINTS.values())
    points[first] += FILE_POINTS["present"] * len(found.programs)

    out = [f"# A first assignment.toml, drafted by `autograder new-assignment` from {origin}.",
           "# Each line marked \"TODO check:\" is a guess: confirm or change it. Then:",
           "#   autograder lint-assignment THIS_FOLDER",
           "#   autograder calibrate THIS_FOLDER",
           "#   autograder grade SUBMISSION --assignment THIS_FOLDER/assignment.toml",
           "",
           line("id", assignment_id),
           line("title", assignment_id, f"{TODO} the title feedback shows"),
           line("solution", solution_name),
           line("thresholds", "thresholds.json"),
           "",
           "[calibration]",
           line("seeds", [0, 1, 2, 3, 4])]
    for problem, title in problems.items():
        out += ["", f"[problems.{json.dumps(problem)}]",
                line("title", title or f"Problem {problem}",
                     f"{TODO} from the notebook's heading" if title else f"{TODO} no notebook headings: one problem"),
                line("points", points[problem], f"{TODO} the sum of the checks below; the handout's points?")]
    for data in sorted({m.data for m in measured if m.data}):
        out += ["", f"[data.{data}]", line("source", data)]
    for file in found.python_files:
        out += ["", f"[files.{json.dumps(file)}]",
                line("problem", file_problem.get(file, first), f"{TODO} the problem it belongs to"),
                line("checks", FILE_POINTS)]
    for file in found.programs:
        out += ["", f"[files.{json.dumps(file)}]",
                line("problem", first, f"{TODO} the problem it belongs to"),
                line("program", True, f"{TODO} it reads command-line options or input: run, never imported"),
                line("checks", {"present": FILE_POINTS["present"]})]
    for index, model in enumerate(found.models):
        out += ["", *_model_lines(keys[index], model, recipes.get(index), problems, first, found.notebook)]
    for file in found.programs:
        out += ["", *script_lines(file)]
    for index, name in recipes.items():
        out += ["", *recipe_lines(name, found.models[index], task_of(found.models[index]))]
    if found.unmatched_weights:
        out += ["", f"{TODO} these weight files load into no class of the solution (keys and shapes), so no "
                    f"check uses them: {', '.join(found.unmatched_weights)}"]
    return "\n".join(out) + "\n"


def _model_lines(name: str, model: ModelSurvey, recipe: str | None, problems: dict, first: str,
                 notebook: str | None) -> list[str]:
    if model.error:
        return [f"{TODO} {model.name} ({model.source}) is an nn.Module class of the solution, but the draft could "
                f"not measure it: {model.error}.",
                "# Declare it by hand if it is graded on its own (see docs/authoring.md)."]
    problem = model.problem if model.problem in problems else first
    why = "the heading above the first notebook cell that names it" if model.problem in problems else \
        ("no notebook cell names it" if notebook else "no notebook")
    lines = [f"[models.{name}]",
             line("name", model.name),
             line("problem", problem, f"{TODO} {why}")]
    if model.source.endswith(".py"):
        lines.append(line("files", [model.source]))
    lines += [line("input", {"shapes": [model.input_shape]},
                   f"{TODO} the first shape of the catalog's data it takes"),
              line("data", model.data, f"{TODO} guessed from the input shape (real examples for the probes)")]
    if model.kwargs:
        lines.append(line("kwargs", model.kwargs, f"{TODO} the solution's defaults: students' classes are built "
                                                  "with these"))
    if model.parts:
        lines.append(line("parts", model.parts))
    if model.weights:
        lines.append(line("weights", model.weights, "# they load into it (keys and shapes)"))
    return [*lines, "", f"[models.{name}.checks]", *model_checks(model, recipe)]


def script_lines(file: str) -> list[str]:
    """A script subject for a program, commented out: its arguments and what it writes are the handout's."""
    name = key(Path(file).stem)
    return [f"{TODO} {file} is a command-line program: a script subject runs it with the handout's arguments and",
            "# checks what it prints and writes (docs/authoring.md, kind = \"script\"); fill in and uncomment:",
            f"# [models.{name}]", "# kind = \"script\"", f"# file = {json.dumps(file)}",
            "# args = [\"-e\", \"3\"]", f"# [models.{name}.checks]", "# runs = 1",
            "# writes = { points = 1, files = [\"...\"] }",
            "# prints = { points = 1, pattern = \"loss\" }"]


def copy_solution(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    else:
        target.mkdir(parents=True)
        shutil.copy2(source, target / source.name)


def new_assignment(folder: Path, solution: Path, assignment_id: str | None = None, force: bool = False) -> Written:
    """Write ``folder/assignment.toml`` and ``folder/solution/`` (a copy of ``solution``), and nothing else."""
    folder, solution = Path(folder), Path(solution)
    toml, copy = folder / "assignment.toml", folder / "solution"
    if not solution.exists():
        raise NewAssignmentError(f"{solution} does not exist: give a folder of .py and weight files, or a notebook")
    if solution.is_file() and solution.suffix != ".ipynb":
        raise NewAssignmentError(f"{solution} is neither a folder nor a notebook (.ipynb)")
    if toml.exists() and not force:
        raise NewAssignmentError(f"{toml} exists; pass --force to write over it (and over {copy})")
    if copy.resolve() == solution.resolve() or copy.resolve() in solution.resolve().parents:
        raise NewAssignmentError(f"the solution is already {copy}: give another folder, or a copy elsewhere")
    folder.mkdir(parents=True, exist_ok=True)
    if copy.exists():
        shutil.rmtree(copy)
    copy_solution(solution, copy)
    found = survey(copy)
    if not found.models:
        raise NewAssignmentError(f"{solution} defines no nn.Module class (in its .py files or its notebook)")
    assignment_id = assignment_id or re.sub(r"[^A-Za-z0-9_-]+", "-", folder.resolve().name).strip("-") or \
        "assignment"
    toml.write_text(render(found, assignment_id, "solution", solution.name))
    return Written(toml, copy, found)


def summary(written: Written) -> str:
    """What was written, and the commands that come next."""
    found, folder = written.survey, written.toml.parent
    lines = [f"wrote {written.toml}", f"copied the solution to {written.solution}"]
    for model in found.models:
        if model.error:
            lines.append(f"  {model.name}: not measured ({model.error}); declare it by hand")
            continue
        extra = [f"code {model.code_width}"] if model.code_width else []
        extra += [f"weights {', '.join(model.weights)}"] if model.weights else []
        lines.append(f"  {model.name} ({model.source}): {len(model.layers)} layers, {model.parameters:,} parameters, "
                     f"{tuple(model.input_shape)} -> {tuple(model.output_shape)}"
                     + "".join(f", {e}" for e in extra))
    if found.headings:
        lines.append(f"  problems from {found.notebook}'s headings: {', '.join(h.problem for h in found.headings)}")
    todo = written.toml.read_text().count(TODO)
    lines += [f"{todo} guess(es) are marked '{TODO}' in {written.toml.name}: confirm or change them, then:",
              f"  autograder lint-assignment {folder}",
              f"  autograder calibrate {folder}",
              f"  autograder grade SUBMISSION --assignment {written.toml}"]
    return "\n".join(lines)
