"""What a solution holds, measured the way the grader measures a submission: its ``nn.Module`` classes (built in
the sandboxed worker, probed with the catalog's input shapes, traced), its weight files and its notebook's
headings.

The solution is the instructor's, so it is trusted; it is still measured through the grader's own worker and
measurements (``grading/measure/models.py``), so that what the draft says is what grading will find.
"""

from __future__ import annotations

import ast
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..headings import markers, plain

# Input shapes to try, by data set of the catalog, in this order (the first one a model takes is its input).
CANDIDATE_SHAPES = {"mnist": ([784], [1, 28, 28]), "digits": ([64], [1, 8, 8])}
CLASSES = {"mnist": 10, "digits": 10}  # labels of each candidate data set
WEIGHT_SUFFIXES = (".pt", ".pth")


@dataclass
class ModelSurvey:
    """One ``nn.Module`` class of the solution, as the grader found it."""

    name: str
    source: str  # the .py file, or the notebook, that defines it
    kwargs: dict  # the constructor's arguments with a literal default
    required: list[str]  # arguments without one (the draft cannot build it)
    parameters: int | None = None
    layers: list[str] = field(default_factory=list)
    input_shape: list[int] | None = None
    data: str | None = None
    output_shape: list[int] | None = None  # per example
    code_width: int | None = None
    parts: dict = field(default_factory=dict)  # role -> attribute, for those it has
    state_keys: dict = field(default_factory=dict)
    weights: list[str] = field(default_factory=list)
    problem: str | None = None
    error: str | None = None  # why it could not be measured
    line: int = 0  # where its source defines it


@dataclass(frozen=True)
class Heading:
    problem: str
    title: str


@dataclass
class Survey:
    python_files: list[str]  # the modules: imported, their classes measured
    notebook: str | None
    models: list[ModelSurvey]
    headings: list[Heading]
    unmatched_weights: list[str]
    programs: list[str] = field(default_factory=list)  # command-line programs: never imported


def is_program(source: str) -> bool:
    """A file written to be run, not imported: importing it reads command-line options or input (argparse,
    sys.argv, input() in its top-level statements, outside functions, classes and ``if __name__ ==
    "__main__":``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    outside = [node for node in tree.body if not _is_main_guard(node) and not isinstance(node, definitions)]
    for node in (n for top in outside for n in ast.walk(top)):
        if isinstance(node, ast.Attribute) and node.attr in ("parse_args", "argv"):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "input":
            return True
    return False


def _is_main_guard(node) -> bool:
    return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test) and "__name__" in ast.unparse(node.test)


# ---------------------------------------------------------------- reading the source (defaults, headings)


def _literal(node: ast.expr):
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (bool, int, float, str)) else None


def constructor_defaults(source: str, name: str) -> tuple[dict, list[str]]:
    """The arguments of ``name.__init__`` in ``source``: those with a literal default (name -> value), and the
    names of those without a default."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            init = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
            if init is None:
                return {}, []
            positional = [*init.args.posonlyargs, *init.args.args][1:]
            defaults = [None] * (len(positional) - len(init.args.defaults)) + list(init.args.defaults)
            pairs = [*zip(positional, defaults, strict=True), *zip(init.args.kwonlyargs, init.args.kw_defaults,
                                                                   strict=True)]
            kwargs = {a.arg: _literal(d) for a, d in pairs if d is not None and _literal(d) is not None}
            required = [a.arg for a, d in pairs if d is None]
            return kwargs, required
    return {}, []


def definition_line(source: str, name: str) -> int:
    """The line where ``source`` defines the class ``name`` (0 where it cannot be read)."""
    match = re.search(rf"^\s*class\s+{re.escape(name)}\b", source, re.M)
    return source[:match.start()].count("\n") + 1 if match else 0


def notebook_cells(path: Path) -> list[tuple[str, str]]:
    """``(cell_type, source)`` of each cell of a notebook (read as JSON, never run)."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    found = []
    for cell in cells:
        source = cell.get("source", "")
        found.append((cell.get("cell_type", ""), "".join(source) if isinstance(source, list) else source))
    return found


def notebook_code(path: Path) -> str:
    """The notebook's code cells as one module (IPython's magics and shell lines dropped)."""
    lines = [line for kind, source in notebook_cells(path) if kind == "code" for line in source.splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    return "\n".join(lines)


def headings(path: Path) -> list[Heading]:
    """The problems the notebook's markdown names, in order, each with its heading's words as its title."""
    found: dict[str, str] = {}
    within: tuple = (None, None)
    for kind, source in notebook_cells(path):
        if kind != "markdown":
            continue
        for line in source.splitlines():
            keys, within = markers(line, within)
            for key in keys:
                found.setdefault(key, plain(line))
    return [Heading(problem, title) for problem, title in found.items()]


def problem_of_name(path: Path, name: str) -> str | None:
    """The problem under whose heading a notebook's code first names ``name`` (defines, imports or builds it)."""
    within: tuple = (None, None)
    current = None
    for kind, source in notebook_cells(path):
        if kind == "markdown":
            keys, within = markers(source, within)
            current = keys[0] if keys else current
        elif kind == "code" and re.search(rf"\b{re.escape(name)}\b", source) and current:
            return current
    return None


# ---------------------------------------------------------------- measuring in the worker


DRAFT_HEADER = 'id = "new-assignment-draft"\ntitle = "a draft being measured"\n'


def _draft_models(models: list[ModelSurvey]) -> str:
    """A draft assignment declaring each class as a subject, with every candidate input shape."""
    shapes = [s for candidates in CANDIDATE_SHAPES.values() for s in candidates]
    tables = []
    for index, model in enumerate(models):
        files = f"files = {json.dumps([model.source])}\n" if model.source.endswith(".py") else ""
        kwargs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in model.kwargs.items())
        tables.append(f'[models.m{index}]\nname = "{model.name}"\n{files}input = {{ shapes = {json.dumps(shapes)} }}\n'
                      f'kwargs = {{ {kwargs} }}\nparts = {{ encoder = "encoder", decoder = "decoder" }}\n')
    return DRAFT_HEADER + "\n" + "\n".join(tables)


def _classes(ctx, python_files: list[str], notebook: str | None) -> list[tuple[str, str]]:
    """``(class, source)`` of each ``nn.Module`` class the solution's files (and notebook) define themselves."""
    from ..grading.imports import import_file

    found = []
    for file in python_files:
        outcome = import_file(ctx, file)
        found += [(name, file) for name in outcome.get("own", []) if outcome["kinds"].get(name) == "module-class"]
    if notebook and ctx.notebook.ready():
        names = ctx.notebook.names()
        found += [(name, notebook) for name in names.get("own", []) if names["kinds"].get(name) == "module-class"]
    return found


def _measure(ctx, key: str, model: ModelSurvey) -> None:
    from ..grading.checks.structure import layers_only, show
    from ..grading.locate import subjects_of
    from ..grading.measure import models as measure
    from ..grading.outcomes import CheckFailed

    subject = subjects_of(ctx.assignment.subjects[key])[0]
    try:
        probe = measure.probe(ctx, subject)
    except CheckFailed as failure:
        model.error = str(failure)
        return
    model.parameters = probe.describe.get("parameters")
    model.state_keys = probe.describe.get("state_keys", {})
    model.parts = {role: role for role, has in probe.describe.get("attributes", {}).items() if has}
    if probe.input_shape is None:
        model.error = "it takes none of the catalog's input shapes (" + "; ".join(
            f"{list(s)}: {r}" for s, r in probe.accepted_shapes.items()) + ")"
        return
    model.input_shape = list(probe.input_shape)
    model.data = next(d for d, shapes in CANDIDATE_SHAPES.items() if model.input_shape in shapes)
    model.output_shape = list(probe.accepted_shapes[probe.input_shape])[1:]
    try:
        model.layers = [show(op) for op in layers_only(measure.ops(ctx, subject))]
    except CheckFailed as failure:
        model.error = f"its forward pass could not be traced: {failure}"
    if "encoder" in model.parts:
        try:
            model.code_width = measure.code_width(ctx, subject, None)
        except CheckFailed:
            model.code_width = None


def _session(solution: Path, toml_text: str):
    from ..grading.session import grading_session

    folder = Path(tempfile.mkdtemp(prefix="autograder-new-assignment-"))
    (folder / "assignment.toml").write_text(toml_text)
    return folder, grading_session(solution, assignment_id=str(folder / "assignment.toml"), device="cpu")


def _in_worker(solution: Path, toml_text: str, work):
    import shutil

    folder, session = _session(solution, toml_text)
    try:
        with session as (ctx, _):
            return work(ctx)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def survey(solution: Path) -> Survey:
    """Everything the draft is written from; the solution is imported (and its notebook run) in the worker."""
    every = sorted(str(p.relative_to(solution)) for p in solution.rglob("*.py") if "__pycache__" not in p.parts)
    programs = [file for file in every if is_program((solution / file).read_text(errors="replace"))]
    python_files = [file for file in every if file not in programs]
    notebooks = sorted(p.name for p in solution.glob("*.ipynb"))
    notebook = notebooks[0] if notebooks else None
    classes = _in_worker(solution, DRAFT_HEADER, lambda ctx: _classes(ctx, python_files, notebook))
    models = []
    for name, source in classes:
        text = (solution / source).read_text() if source.endswith(".py") else notebook_code(solution / source)
        kwargs, required = constructor_defaults(text, name)
        models.append(ModelSurvey(name, source, kwargs, required, line=definition_line(text, name)))
    models.sort(key=lambda m: (m.source.endswith(".ipynb"), m.source, m.line))
    buildable = [m for m in models if not m.required]

    def measure_all(ctx):
        for index, model in enumerate(buildable):
            _measure(ctx, f"m{index}", model)

    if buildable:
        _in_worker(solution, _draft_models(buildable), measure_all)
    for model in models:
        if model.required:
            model.error = f"its constructor needs {', '.join(model.required)}, without a default"
    unmatched = match_weights(solution, models)
    found = headings(solution / notebook) if notebook else []
    for model in models:
        model.problem = problem_of_name(solution / notebook, model.name) if notebook else None
    return Survey(python_files, notebook, models, found, unmatched, programs)


def _shapes_of(path: Path) -> dict | None:
    """The tensors of a weight file saved as a state_dict (``torch.load`` with ``weights_only=True``), by key."""
    import torch

    try:
        value = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a file that does not load is reported as matching no class
        return None
    if not isinstance(value, dict) or not all(isinstance(v, torch.Tensor) for v in value.values()):
        return None
    return {k: list(v.shape) for k, v in value.items()}


def match_weights(solution: Path, models: list[ModelSurvey]) -> list[str]:
    """Give each class the weight files whose keys and shapes are its state_dict's; the files no class takes."""
    unmatched = []
    for path in sorted(p for p in solution.rglob("*") if p.suffix in WEIGHT_SUFFIXES):
        shapes = _shapes_of(path)
        fits = [m for m in models if shapes and m.state_keys and m.state_keys == shapes]
        if len(fits) == 1:
            fits[0].weights.append(str(path.relative_to(solution)))
        else:
            unmatched.append(str(path.relative_to(solution)))
    return unmatched
