"""Trusted-side access to an answer key: its analytic answers, reference classes and thresholds."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path

from .spec import Assignment

_by_path: dict = {}


def answer_key_module(assignment: Assignment, name: str):
    """A module of the answer key: imported from its package under ``reference/``, or, for an answer key
    elsewhere (one a course is writing, or a test's), from its folder."""
    if assignment.package:
        return importlib.import_module(f"{assignment.package}.{name}")
    path = assignment.root / f"{name.replace('.', '/')}.py"
    if path not in _by_path:
        _by_path[path] = load_module_from(path, f"_answer_key_{assignment.root.name}_{name}")
    return _by_path[path]


def answer_key_object(assignment: Assignment, reference: str):
    """``"module:name"`` of the answer key."""
    module, _, name = reference.partition(":")
    return getattr(answer_key_module(assignment, module), name)


def analytic_answer(assignment: Assignment, problem: str):
    """The answer of an analytic problem, computed (and cross-checked) by the answer key's code."""
    return answer_key_module(assignment, assignment.analytic[problem].module).answer()


def derivation_checks(assignment: Assignment) -> dict[str, float]:
    """Largest discrepancy of each numerical check of a written derivation (raises if one fails)."""
    if not assignment.derivations:
        return {}
    return answer_key_module(assignment, assignment.derivations).answer()


def load_module_from(path: Path, name: str | None = None):
    """Import the file at ``path`` as a fresh module (its folder first on sys.path while it runs)."""
    name = name or f"_answer_key_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def solution_class(assignment: Assignment, subject: str):
    """The answer key's builder of ``subject`` (a class or a function returning a model): named by the
    subject's ``reference = "module:name"``, else taken from the solution's .py files or, failing those, from
    the solution notebook (its imports and definitions, up to the end of the subject's problem)."""
    spec = assignment.subjects[subject]
    if spec.reference:
        return answer_key_object(assignment, spec.reference)
    for filename in spec.files:
        path = assignment.paths["solution"] / filename
        if path.is_file():
            module = load_module_from(path)
            if hasattr(module, spec.name):
                return getattr(module, spec.name)
    notebooks = sorted(assignment.paths["solution"].glob("*.ipynb")) if "solution" in assignment.paths else []
    if notebooks:
        return notebook_definition(notebooks[0], spec.name, spec.problem)
    raise LookupError(f"the answer key's solution defines no {spec.name} in {', '.join(spec.files) or 'a notebook'}")


def notebook_definition(path: Path, name: str, problem: str = ""):
    """The class or function ``name`` as the notebook at ``path`` defines it for ``problem``: its imports and
    its top-level definitions up to that one are run here (trusted: the answer key's own notebook); nothing
    else of the notebook runs. Read once per process (1.8 s of imports for ece4803-hw6's notebook)."""
    stamp = path.stat().st_mtime_ns
    key = (str(path), stamp, name, problem)
    if key not in _definitions:
        _definitions[key] = _notebook_definition(path, name, problem)
    return _definitions[key]


_definitions: dict = {}


def _notebook_definition(path: Path, name: str, problem: str = ""):
    import ast

    import nbformat

    from .notebooks import problem_windows

    notebook = nbformat.read(path, as_version=4)
    window = problem_windows(notebook, [problem]).get(problem) if problem else None
    statements, chosen = [], None
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("!", "%")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef)):
                statements.append(node)
                if getattr(node, "name", None) == name and (window is None or index < window[1]):
                    chosen = len(statements)
    if chosen is None:
        raise LookupError(f"{path.name} defines no {name}")
    namespace: dict = {"__name__": f"_answer_key_{path.stem}"}
    exec(compile(ast.Module(body=statements[:chosen], type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace[name]


class NoThresholds(FileNotFoundError):
    """The assignment has not been calibrated yet: a step for the instructor, not a fault of a submission."""


def thresholds_path(assignment: Assignment) -> Path:
    """Where the assignment's thresholds are: its ``thresholds`` key, else ``thresholds.json`` beside it."""
    return assignment.paths.get("thresholds") or assignment.root / "thresholds.json"


def calibrate_command(assignment: Assignment) -> str:
    """The command that calibrates the assignment: by id for an answer key under ``reference/``, else by the
    path of its ``assignment.toml``."""
    return f"autograder calibrate {assignment.id if assignment.package or not assignment.toml else assignment.toml}"


def load_thresholds(assignment: Assignment) -> dict:
    path = thresholds_path(assignment)
    if not path.is_file():
        raise NoThresholds(f"this assignment has no thresholds yet ({path} does not exist): run "
                           f"{calibrate_command(assignment)}")
    return json.loads(path.read_text())
