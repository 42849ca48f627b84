"""Reading ``assignment.toml`` strictly: every key is known, every reference resolves, or SpecError says which."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from ..common.recipes import Recipe
from .errors import SpecError
from .layers import LayerSpec, check_layer
from .schema import (
    ANSWER_ROLES,
    FINDS,
    KINDS,
    LAYOUTS,
    LIMIT_KEYS,
    SCALES,
    VISIBILITIES,
    AnalyticSpec,
    AnswerSpec,
    AnswersSpec,
    Assignment,
    Calibration,
    CheckSpec,
    DataSpec,
    FileSpec,
    InputSpec,
    LimitsSpec,
    NotebookSpec,
    ProblemSpec,
    ProvidedFolder,
    SubjectSpec,
)

_MISSING = object()
PATH_KEYS = ("solution", "starter", "student_handout", "written", "thresholds")


class Table:
    """A TOML table read key by key; ``done()`` rejects the keys nobody asked for."""

    def __init__(self, data, where: str):
        if not isinstance(data, dict):
            raise SpecError(f"{where} must be a table, not {type(data).__name__}")
        self.data, self.where, self.known = dict(data), where, set()

    def get(self, key: str, default=_MISSING, kind=None):
        self.known.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise SpecError(f"{self.where}: missing key '{key}'")
            return default
        value = self.data.pop(key)
        if kind is not None and not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise SpecError(f"{self.where}.{key}: expected {names}, found {value!r}")
        return value

    def one_of(self, key: str, choices, default):
        value = self.get(key, default)
        if value not in choices:
            raise SpecError(f"{self.where}.{key}: {value!r} is not one of {', '.join(map(str, choices))}")
        return value

    def table(self, key: str) -> Table:
        return Table(self.get(key, {}), f"{self.where}.{key}")

    def done(self):
        if self.data:
            raise SpecError(f"{self.where}: unknown key(s) {', '.join(sorted(self.data))}; "
                            f"known: {', '.join(sorted(self.known))}")


def _check(key: str, value, where: str, default_visibility: str) -> CheckSpec:
    """``code_size = 2`` (points only) or ``code_size = { points = 2, width = 2, hint = "..." }``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return CheckSpec(key, key, float(value), {}, visibility=default_visibility)
    table = Table(value, f"{where}.{key}")
    spec = CheckSpec(
        key=key,
        type=table.get("check", key, str),
        points=float(table.get("points", kind=(int, float))),
        title=table.get("title", None, str),
        hint=table.get("hint", None, str),
        visibility=table.one_of("visibility", VISIBILITIES, default_visibility),
        per_variant=table.get("per_variant", False, bool),
        options={},
    )
    options = dict(table.data)
    table.data.clear()
    if "layers" in options:
        options["layers"] = tuple(check_layer(LayerSpec.parse(layer), f"{where}.{key}.layers[{index}]")
                                  for index, layer in enumerate(options["layers"]))
    return CheckSpec(**{**spec.__dict__, "options": options})


def _checks(data, where: str, visibility: str = "visible") -> dict[str, CheckSpec]:
    return {key: _check(key, value, where, visibility) for key, value in (data or {}).items()}


def _input(data, where: str) -> InputSpec | None:
    if data is None:
        return None
    table = Table(data, where)
    shapes = tuple(tuple(int(d) for d in shape) for shape in table.get("shapes", kind=list))
    if not shapes:
        raise SpecError(f"{where}.shapes: at least one shape")
    spec = InputSpec(shapes=shapes, layout=table.one_of("layout", LAYOUTS, "channels_first"))
    table.done()
    return spec


def _subject(key: str, data: dict, where: str) -> SubjectSpec:
    table = Table(data, where)
    kind = table.one_of("kind", KINDS, "torch")
    find = table.one_of("find", FINDS, "function" if kind == "function" else "class")
    script = table.get("file", None, str)  # kind = "script": the file run
    steps = table.get("steps", None, int)  # kind = "script": its optimizer-step budget
    files = tuple(table.get("files", [], list))
    if kind == "script":
        files = _script_files(script, files, steps, where)
    elif script is not None or steps is not None:
        raise SpecError(f"{where}: 'file' and 'steps' are for kind = 'script' (a command-line program); a {kind} "
                        "subject is found in 'files'")
    spec = SubjectSpec(
        key=key,
        name=table.get("name", script or key, str),
        kind=kind,
        find=find,
        problem=str(table.get("problem", "")),
        files=files,
        weights=tuple(table.get("weights", [], list)),
        input=_input(table.get("input", None), f"{where}.input"),
        data=table.get("data", None, str),
        kwargs=dict(table.get("kwargs", {}, dict)),
        args=tuple(table.get("args", [], list)),
        parts=dict(table.get("parts", {}, dict)),
        match=dict(table.get("match", {}, dict)),
        variants={k: list(v) for k, v in table.get("variants", {}, dict).items()},
        reference=table.get("reference", None, str),
        checks=_checks(table.get("checks", {}, dict), f"{where}.checks"),
        limit_seconds=_seconds(table, "limit_seconds", where),
        aliases=tuple(_names(table.get("aliases", [], list), f"{where}.aliases")),
        argument_aliases={k: tuple(_names(v, f"{where}.argument_aliases.{k}"))
                          for k, v in table.get("argument_aliases", {}, dict).items()},
        steps=steps,
    )
    table.done()
    if kind == "script":
        spec = SubjectSpec(**{**spec.__dict__, "args": _command_line(spec.args, f"{where}.args")})
    if find == "fit" and kind != "keras":
        raise SpecError(f"{where}: find = 'fit' (models passed to fit) is for kind = 'keras'")
    declared = set(spec.kwargs) | set(spec.variants)
    for key in spec.argument_aliases:
        if key not in declared:
            raise SpecError(f"{where}.argument_aliases.{key}: {key!r} is not one of its kwargs or variants "
                            f"({', '.join(sorted(declared)) or 'none declared'})")
    return spec


def _script_files(script: str | None, files: tuple, steps: int | None, where: str) -> tuple[str, ...]:
    """A script subject's one file: ``file = "train.py"`` (or ``files = ["train.py"]``), a .py file."""
    if script is None and len(files) == 1:
        script = files[0]
    if script is None or (files and files != (script,)):
        raise SpecError(f"{where}: a script subject names the one file it runs: file = \"train.py\"")
    if not script.endswith(".py") or "/" in script or "\\" in script:
        raise SpecError(f"{where}.file: {script!r} is not a .py file at the top level of the submission")
    if steps is not None and steps < 1:
        raise SpecError(f"{where}.steps: a step budget is a positive number of optimizer steps, not {steps}")
    return (script,)


def _command_line(args, where: str) -> tuple[str, ...]:
    """A script's command-line arguments: strings (numbers are written as they read)."""
    words = []
    for value in args:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise SpecError(f"{where}: a command-line argument is a string (or a number), not {value!r}")
        words.append(str(value))
    return tuple(words)


def _names(value, where: str) -> list[str]:
    """A list of Python names: ``aliases = ["Autoencoder", "AE"]``."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.isidentifier() for v in value):
        raise SpecError(f"{where}: expected a list of Python names, found {value!r}")
    return value


def _seconds(table: Table, key: str, where: str) -> float | None:
    value = table.get(key, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SpecError(f"{where}.{key}: seconds must be a positive number, not {value!r}")
    return float(value)


def _limits(data) -> LimitsSpec:
    table = Table(data or {}, "limits")
    spec = LimitsSpec(**{field: _seconds(table, key, "limits") for key, field in LIMIT_KEYS.items()})
    table.done()
    return spec


def _data(key: str, data: dict, where: str) -> DataSpec:
    table = Table(data, where)
    resize = table.get("resize", None, list)
    spec = DataSpec(
        key=key,
        source=table.get("source", key, str),
        folder=table.get("folder", None, str),
        files=dict(table.get("files", {}, dict)),
        layout=table.one_of("layout", LAYOUTS, "channels_last"),
        scale=table.one_of("scale", SCALES, "unit"),
        classes=tuple(table.get("classes", [], list)),
        per_class=dict(table.get("per_class", {}, dict)),
        resize=tuple(resize) if resize else None,
        channels=table.get("channels", None, int),
        split=table.one_of("split", ("default", "official-order"), "default"),
        about=table.get("about", "", str),
        provide=table.get("provide", "", str),
    )
    table.done()
    if spec.split == "official-order" and not spec.per_class:
        raise SpecError(f"{where}: split = 'official-order' takes per_class = {{ train = n, test = m }}")
    return spec


def _file(name: str, data: dict) -> FileSpec:
    table = Table(data, f"files.{name}")
    spec = FileSpec(name, str(table.get("problem", "")), _checks(table.get("checks", {}, dict), f"files.{name}.checks"),
                    program=table.get("program", False, bool))
    table.done()
    imports = [check.key for check in spec.checks.values() if check.type == "imports"]
    if spec.program and imports:
        raise SpecError(f"files.{name}.checks.{imports[0]}: {name} is a program (program = true), which the grader "
                        "runs and never imports; check it with a script subject (kind = \"script\": runs, writes, "
                        "prints) instead of imports")
    return spec


def _analytic(problem: str, data: dict) -> AnalyticSpec:
    table = Table(data, f"analytic.{problem}")
    spec = AnalyticSpec(problem, table.get("title", kind=str), table.get("module", kind=str))
    table.done()
    return spec


PROVIDED_ARRAYS = ("train_images", "train_labels", "test_images", "test_labels")


def _provided(data: dict) -> tuple:
    folders = []
    for folder, value in data.items():
        table = Table(value, f"notebook.provide.{folder}")
        files = dict(table.get("files", kind=dict))
        for name, array in files.items():
            if array not in PROVIDED_ARRAYS:
                raise SpecError(f"notebook.provide.{folder}.files.{name}: {array!r} is not one of "
                                f"{', '.join(PROVIDED_ARRAYS)}")
        folders.append(ProvidedFolder(folder, table.get("data", kind=str), table.get("stand_in", None, str), files))
        table.done()
    return tuple(folders)


def _answers(data, where: str) -> AnswersSpec | None:
    if data is None:
        return None
    table = Table(data, where)
    file = table.get("file", "", str)  # "": the variables of the notebook
    tolerance = float(table.get("tolerance", 1e-3))
    visibility = table.one_of("visibility", VISIBILITIES, "visible")
    variables = {}
    for name, value in table.get("variables", {}, dict).items():
        entry = Table(value, f"{where}.variables.{name}")
        variables[name] = AnswerSpec(name, str(entry.get("problem")), entry.get("key", name, str),
                                     float(entry.get("points", 1)), entry.get("title", None, str),
                                     entry.get("text", False, bool), entry.get("span", None, dict),
                                     tuple(entry.get("shape", [], list)) or None,
                                     entry.one_of("role", (None, *ANSWER_ROLES), None))
        entry.done()
    table.done()
    return AnswersSpec(file, tolerance, visibility, variables)


def _problems(data, where: str) -> dict[str, ProblemSpec]:
    problems = {}
    for problem, value in (data or {}).items():
        entry = Table(value, f"{where}.{problem}")
        problems[problem] = ProblemSpec(problem, entry.get("title", "", str),
                                        entry.get("points", None, (int, float)))
        entry.done()
    return problems


def _resolve_references(assignment: Assignment, where: Path) -> None:
    """Every recipe, data set and ``layers_of`` a check names exists."""
    for subject in assignment.subjects.values():
        for check in subject.checks.values():
            recipe = check.options.get("recipe")
            if recipe is not None and recipe not in assignment.recipes:
                raise SpecError(f"{where}: {subject.key}.checks.{check.key} names recipe {recipe!r}, "
                                "which is not defined")
            other = check.options.get("layers_of")
            if other is not None and other not in assignment.subjects:
                raise SpecError(f"{where}: {subject.key}.checks.{check.key} has layers_of {other!r}, not a subject")
            if check.per_variant and not subject.variants:
                raise SpecError(f"{where}: {subject.key}.checks.{check.key} is per_variant, but {subject.key} "
                                "declares no variants")
        if subject.data and subject.data not in assignment.data:
            _catalog_name(subject.data, where)
    for recipe in assignment.recipes.values():
        if recipe.data not in assignment.data:
            _catalog_name(recipe.data, where)


def _resolve_scripts(assignment: Assignment, where: Path) -> None:
    """A program file is never imported (no model is looked for in it); a script check's ``model`` is a torch
    subject."""
    programs = {file.name for file in assignment.files if file.program}
    for subject in assignment.subjects.values():
        if subject.kind != "script" and programs & set(subject.files):
            raise SpecError(f"{where}: models.{subject.key}.files names {sorted(programs & set(subject.files))[0]}, "
                            "a program (program = true), which the grader never imports")
        for check in subject.checks.values():
            model = check.options.get("model")
            if subject.kind == "script" and model is not None and \
                    (model not in assignment.subjects or assignment.subjects[model].kind != "torch"):
                raise SpecError(f"{where}: models.{subject.key}.checks.{check.key}: model {model!r} is not a torch "
                                "subject of this assignment (the model the written weights load into)")


def _scripts_calibrated(assignment: Assignment) -> dict:
    """The recipes a script's check scores written weights with, calibrated on the model it names (unless the
    recipe names its subject)."""
    recipes = dict(assignment.recipes)
    for subject in assignment.subjects.values():
        for check in subject.checks.values():
            name, model = check.options.get("recipe"), check.options.get("model")
            if subject.kind == "script" and model and name in recipes and not recipes[name].subject:
                recipes[name] = dataclasses.replace(recipes[name], subject=model)
    return recipes


def _catalog_name(name: str, where: Path) -> None:
    from ..datasets.catalog import dataset_spec

    try:
        dataset_spec(name)
    except KeyError as error:
        raise SpecError(f"{where}: data set {name!r} is neither declared under [data] nor known: {error}") from None


def _with_layers_of(subjects: dict[str, SubjectSpec]) -> dict[str, SubjectSpec]:
    """A check with ``layers_of = "OTHER"`` takes the expected layers of OTHER's check of the same type."""
    resolved = {}
    for key, subject in subjects.items():
        checks = {}
        for name, check in subject.checks.items():
            other = check.options.get("layers_of")
            if other and other in subjects:
                source = next((c for c in subjects[other].checks.values() if c.type == check.type and c is not check
                               and "layers" in c.options), None)
                if source is None:
                    raise SpecError(f"{key}.checks.{name}: layers_of {other!r}, which has no {check.type} check "
                                    "with layers")
                options = {**source.options, **{k: v for k, v in check.options.items() if k != "layers_of"}}
                check = CheckSpec(**{**check.__dict__, "options": options})
            checks[name] = check
        resolved[key] = SubjectSpec(**{**subject.__dict__, "checks": checks})
    return resolved


def _package(root: Path) -> str | None:
    """The import name of an answer key under ``reference/``; None for one elsewhere (read by path)."""
    try:
        import reference
    except ImportError:  # a student kit read where no answer key is installed
        return None
    home = Path(reference.__file__).resolve().parent
    return f"{reference.__name__}.{root.name}" if root.resolve().parent == home else None


def parse_assignment(path: Path) -> Assignment:
    """Read and validate one ``assignment.toml``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML ({error})") from None
    top = Table(data, path.name)
    root = path.parent
    calibration = top.table("calibration")
    recipes = {}
    for name, value in top.get("recipes", {}, dict).items():
        try:
            recipes[name] = Recipe.from_dict(name, value)
        except (TypeError, ValueError) as error:
            raise SpecError(f"{path}: {error}") from None
    subjects = {key: _subject(key, value, f"models.{key}") for key, value in top.get("models", {}, dict).items()}
    notebook = top.get("notebook", None, dict)
    notebook_table = Table(notebook, "notebook") if notebook is not None else None
    assignment = Assignment(
        id=top.get("id", kind=str),
        title=top.get("title", kind=str),
        course=top.get("course", "", str),
        root=root,
        package=_package(root),
        paths={key: root / value for key in PATH_KEYS if (value := top.get(key, None, str))},
        derivations=top.get("derivations", None, str),
        problem_label=top.get("problem_label", "Problem {id}", str),
        calibration=Calibration(
            seeds=tuple(calibration.get("seeds", [0, 1, 2, 3, 4], list)),
            slack=float(calibration.get("slack", 0.5)),
            min_margin=float(calibration.get("min_margin", 0.15)),
        ),
        problems=_problems(top.get("problems", {}, dict), "problems"),
        analytic={problem: _analytic(problem, value) for problem, value in top.get("analytic", {}, dict).items()},
        files=tuple(_file(name, value) for name, value in top.get("files", {}, dict).items()),
        notebook=NotebookSpec(points=float(notebook_table.get("points", 0.0)),
                              required=notebook_table.get("required", False, bool),
                              step_budget=notebook_table.get("step_budget", None, int),
                              provide=_provided(notebook_table.get("provide", {}, dict))) if notebook_table else None,
        answers=_answers(top.get("answers", None, dict), "answers"),
        data={key: _data(key, value, f"data.{key}") for key, value in top.get("data", {}, dict).items()},
        subjects=_with_layers_of(subjects),
        recipes=recipes,
        limits=_limits(top.get("limits", None, dict)),
        toml=path,
    )  # fmt: skip
    top.get("source", None, str)  # the handout this answer key was written from (documentation)
    calibration.done()
    if notebook_table:
        notebook_table.done()
    top.done()
    _resolve_references(assignment, path)
    _resolve_scripts(assignment, path)
    return dataclasses.replace(assignment, recipes=_scripts_calibrated(assignment))
