"""Where a subject is defined in the submission, and the reference the worker is sent to find it.

The assignment names the files a subject may be in, in order of preference;
the notebook is used where they are missing (and the feedback says so). In a
notebook that binds a name more than once, the binding made in the cells of
the subject's problem is the one graded. A variable (a model as the problem's
cells left it) is never taken from another problem's cells: where the
problem's cells do not bind the handout's name, the model they trained is
graded, and the feedback says which.

A class, factory or function is found under the handout's name, a name the
assignment accepts (``aliases``), or one equal to either up to case and ``_``.
Where a file the handout names defines none of these, the one class of the
subject's kind it defines itself that takes the declared arguments (and that no
other subject claims) is graded, with a note; with two or more, none is guessed.
The name found travels to the worker in ``reference()``, so every check grades
the same class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..common.signatures import loose, takes_arguments
from ..spec import LayerSpec, SubjectSpec
from .imports import import_file
from .outcomes import CheckFailed, student_traceback

_ARGUMENT = re.compile(r"^\{(\w+)\}$")


def _with_argument(value, kwargs: dict):
    if isinstance(value, str) and (match := _ARGUMENT.match(value)) and match[1] in kwargs:
        return kwargs[match[1]]
    if isinstance(value, LayerSpec):
        return LayerSpec(value.type, {k: _with_argument(v, kwargs) for k, v in value.settings.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(_with_argument(v, kwargs) for v in value)
    return value


def with_arguments(options: dict, kwargs: dict) -> dict:
    """Options (and layer settings) written ``"{name}"`` take the value of the subject's argument ``name`` (of its
    variant): a sweep's code size, say, is the width its code_size check expects."""
    return {key: _with_argument(value, kwargs) for key, value in options.items()}


# what a name must hold for each way of finding a subject, by the worker's kind names
WANTED = {
    ("torch", "class"): {"module-class"},
    ("keras", "class"): {"keras-model-class"},
    ("dataset", "class"): {"dataset-class", "class"},
    ("torch", "factory"): {"function"},
    ("keras", "factory"): {"function"},
    ("torch", "variable"): {"module"},
    ("keras", "variable"): {"keras-model"},
    ("function", "function"): {"function"},
}
WHAT = {"class": "class", "factory": "function", "variable": "variable holding a model", "function": "function"}
NAMED = ("class", "factory", "function")  # what may be found under another name than the handout's
CLASS_KINDS = {"torch": "nn.Module", "keras": "Keras Model"}  # the kinds whose class may be found by its arguments
NAME_COSTS_NOTHING = "no check of this assignment is on the name, so it costs no points"


@dataclass(frozen=True)
class Subject:
    """A subject as graded: its spec, with the arguments of one variant of a sweep."""

    spec: SubjectSpec
    kwargs: dict = field(default_factory=dict)
    variant: str = ""  # "code_size=35" for a variant of a sweep

    @property
    def label(self) -> str:
        return f"{self.spec.name}[{self.variant}]" if self.variant else self.spec.name

    @property
    def key(self) -> str:
        return f"{self.spec.key}[{self.variant}]" if self.variant else self.spec.key

    def call_text(self) -> str:
        if self.spec.find not in ("class", "factory"):
            return self.spec.name
        shown = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items() if not isinstance(v, dict))
        return f"{self.spec.name}({shown})"


def subjects_of(spec: SubjectSpec) -> list[Subject]:
    """The subject itself, with its own arguments."""
    return [Subject(spec, dict(spec.kwargs))]


def variants_of(spec: SubjectSpec) -> list[Subject]:
    return [Subject(spec, kwargs, ", ".join(f"{k}={kwargs[k]}" for k in spec.variants))
            for kwargs in spec.variant_kwargs()]


@dataclass(frozen=True)
class Located:
    source: str  # a .py file or the notebook
    cells: tuple[int, int] | None = None  # the notebook cells of the subject's problem
    name: str = ""  # the name it is graded under, where it is not the handout's


def _kinds(outcome: dict) -> dict:
    return outcome.get("kinds", {})


def _fits(outcome: dict, spec: SubjectSpec, name: str, own: bool = False) -> bool:
    """``name`` holds something of the subject's kind (``own``: defined in that file itself)."""
    wanted = WANTED.get((spec.kind, spec.find), set())
    return _kinds(outcome).get(name) in wanted and (not own or name in outcome.get("own", []))


def _named(outcome: dict, spec: SubjectSpec, own: bool = False) -> str | None:
    """The name under which ``outcome`` defines the subject: the handout's; else a declared alias; else the one
    name equal to either up to case and ``_`` (for a class, factory or function)."""
    if _fits(outcome, spec, spec.name, own):
        return spec.name
    if spec.find not in NAMED:
        return None
    alias = next((a for a in spec.aliases if _fits(outcome, spec, a, own)), None)
    if alias:
        return alias
    accepted = {loose(n) for n in (spec.name, *spec.aliases)}
    close = sorted(n for n in _kinds(outcome) if loose(n) in accepted and _fits(outcome, spec, n, own))
    return close[0] if len(close) == 1 else None


def _defines(outcome: dict, spec: SubjectSpec, own: bool = False) -> bool:
    return _named(outcome, spec, own) is not None


def _declared_arguments(spec: SubjectSpec) -> list[str]:
    return list(dict.fromkeys([*spec.kwargs, *spec.variants]))


def _arguments_text(spec: SubjectSpec) -> str:
    """The declared arguments, in words: "N_bottleneck", "no arguments"."""
    shown = [f"{len(spec.args)} positional argument(s)"] if spec.args else []
    return ", ".join(shown + _declared_arguments(spec)) or "no arguments"


def _names_text(names: list[str]) -> str:
    shown = [f"`{name[:60]}`" for name in names[:8]]
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown)


def _candidates(ctx, outcome: dict, spec: SubjectSpec) -> list[str]:
    """The classes of the subject's kind that the file defines itself, that no other subject of the assignment
    is named (or accepted) as, and whose constructor takes the declared arguments: where the handout's name is
    missing, the one class that can be the subject."""
    if spec.find != "class" or spec.kind not in CLASS_KINDS or outcome.get("error"):
        return []
    claimed = {loose(name) for other in ctx.assignment.subjects.values() if other.key != spec.key
               for name in (other.name, *other.aliases)}
    signatures = outcome.get("signatures", {})
    return sorted(name for name in outcome.get("own", [])
                  if _fits(outcome, spec, name, own=True) and loose(name) not in claimed
                  and takes_arguments(signatures.get(name), len(spec.args), _declared_arguments(spec),
                                      spec.argument_aliases))


def _note_name(ctx, spec: SubjectSpec, name: str) -> None:
    """Say which name was graded, where it is not the handout's."""
    if name in spec.aliases:
        ctx.note(f"graded `{name}` as {spec.name}: a name the assignment accepts for it")
    elif name != spec.name:
        ctx.note(f"graded `{name}`: the handout names it `{spec.name}`; {NAME_COSTS_NOTHING}, but name it as the "
                 "handout does")


def _graded_name(ctx, file: str, outcome: dict, spec: SubjectSpec) -> str | None:
    """The name in ``file`` graded as the subject, with a note where it is not the handout's."""
    name = _named(outcome, spec)
    if name is not None:
        _note_name(ctx, spec, name)
        return name
    if _kinds(outcome).get(spec.name) is not None or _in_notebook(ctx, spec, own=True):
        return None  # the handout's name holds something else (the problem to report), or the notebook has it
    candidates = _candidates(ctx, outcome, spec)
    if len(candidates) != 1:
        return None
    ctx.note(f"graded `{candidates[0]}`: the handout names it `{spec.name}`, which {file} does not define; "
             f"`{candidates[0]}` is the only {CLASS_KINDS[spec.kind]} class of {file} that takes "
             f"{_arguments_text(spec)} ({NAME_COSTS_NOTHING}, but name it as the handout does)")
    return candidates[0]


def _file_problem(ctx, file: str, outcome: dict, spec: SubjectSpec) -> str:
    if outcome.get("error") and not outcome.get("names"):
        return f"{file} could not be imported: {student_traceback(outcome['error'])}"
    if outcome.get("error"):
        return f"{file} stopped with {student_traceback(outcome['error'])} before defining {spec.name}"
    if ctx.scratch_path(file).stat().st_size == 0:
        return f"{file} is empty"
    found = _kinds(outcome).get(spec.name)
    if found is not None:
        return f"{spec.name} in {file} is a {found.replace('-', ' ')}, not a {WHAT.get(spec.find, spec.find)}"
    wanted = WANTED.get((spec.kind, spec.find), set())
    same = sorted(name for name, kind in _kinds(outcome).items() if kind in wanted)[:12]
    shown = ", ".join(name[:60] for name in same) or f"no {WHAT.get(spec.find, spec.find)}es of that kind"
    problem = f"{file} defines no {WHAT.get(spec.find, spec.find)} {spec.name} (it defines: {shown})"
    candidates = _candidates(ctx, outcome, spec)
    if len(candidates) > 1:
        problem += (f"; {_names_text(candidates)} each take {_arguments_text(spec)}, so the grader cannot tell "
                    f"which one is {spec.name} and graded none: name that class {spec.name}, as the handout does")
    return problem


def _notebook_location(ctx, spec: SubjectSpec) -> Located:
    return Located(ctx.notebook.file, ctx.notebook.window(spec.problem))


def _in_notebook(ctx, spec: SubjectSpec, own: bool = False) -> bool:
    if not ctx.notebook.ready():
        return False
    if spec.find == "fit":
        return ctx.notebook.names().get("fits", 0) > 0
    if spec.find == "variable" and not own:
        return _variable_in_notebook(ctx, spec)
    return _defines(ctx.notebook.names(), spec, own)


def _inside(cells: list, window) -> list:
    return [c for c in cells if c is not None and (window is None or window[0] <= c < window[1])]


def _variable_in_notebook(ctx, spec: SubjectSpec) -> bool:
    """The problem's cells bind the name to a model, or train a model of the subject's kind."""
    names, window = ctx.notebook.names(), ctx.notebook.window(spec.problem)
    if _defines(names, spec) and (window is None or _inside(names.get("bound", {}).get(spec.name, []), window)):
        return True
    if _inside([t["cell"] for t in names.get("roles", {}).get("trained", [])], window):
        return True
    wanted = WANTED.get((spec.kind, spec.find), set())
    return any(_inside(cells, window) for name, cells in names.get("bound", {}).items()
               if _kinds(names).get(name) in wanted)


def _variable_problem(ctx, spec: SubjectSpec) -> str:
    """Why the problem's cells give no variable to grade, with what the notebook has instead."""
    names, window = ctx.notebook.names(), ctx.notebook.window(spec.problem)
    problem = ctx.assignment.problem_name(spec.problem) or "the problem"
    bound = sorted({c + 1 for c in names.get("bound", {}).get(spec.name, []) if c is not None})
    trained = sorted({t["cell"] + 1 for t in names.get("roles", {}).get("trained", []) if t["cell"] is not None})
    where = f"{problem}'s cells ({window[0] + 1} to {window[1]})" if window else "the notebook"
    found = [f"{spec.name} is bound in cell(s) {', '.join(map(str, bound[:8]))}"] if bound else []
    found += [f"models are trained in cell(s) {', '.join(map(str, trained[:8]))}"] if trained else []
    return (f"{where} bind no {spec.name} and train no model, so {problem} could not be graded"
            + (f" ({'; '.join(found)}: other problems' cells)" if found else "")
            + f". Build and train the model of {problem} in its own cells.")


def locate(ctx, spec: SubjectSpec) -> Located:
    """The file (or notebook) that defines the subject; CheckFailed naming what is wrong."""
    return ctx.memo(("located", spec.key), lambda: _locate(ctx, spec))


def _locate(ctx, spec: SubjectSpec) -> Located:
    problems = []
    for file in spec.files:
        if not ctx.submission.has(file):
            continue
        outcome = import_file(ctx, file)
        if spec.find == "fit" and outcome.get("fits", 0):
            return Located(file)
        name = _graded_name(ctx, file, outcome, spec) if spec.find != "fit" else None
        if name is not None:
            if _in_notebook(ctx, spec, own=True):
                ctx.note(f"{spec.name} is defined in {file} and in the notebook {ctx.notebook.file}; the handout "
                         f"asks for {file}, so that one was graded")
            return Located(file, name=name)
        problems.append(_file_problem(ctx, file, outcome, spec))
    if _in_notebook(ctx, spec):
        if spec.files:
            where = " and ".join(problems) if problems else f"{' or '.join(spec.files)} is missing"
            ctx.note(f"{spec.name}: {where}; the handout asks for the {WHAT.get(spec.find, spec.find)} in that "
                     f"file, so the {spec.name} your notebook {ctx.notebook.file} defines was graded instead")
        located = _notebook_location(ctx, spec)
        name = _named(ctx.notebook.names(), spec) if spec.find in NAMED else None
        if name and name != spec.name:
            _note_name(ctx, spec, name)
            located = Located(located.source, located.cells, name)
        if located.cells is None and ctx.assignment.problem_name(spec.problem):
            ctx.note(f"{ctx.notebook.file}: no heading names {ctx.assignment.problem_name(spec.problem)}, so for "
                     f"{spec.name} the last binding in the notebook was graded")
        rebound = ctx.notebook.names().get("rebound", {}).get(spec.name, 0)
        if rebound > 1 and located.cells is not None and spec.find != "variable":
            ctx.note(f"the notebook binds {spec.name} {rebound} times; for "
                     f"{ctx.assignment.problem_name(spec.problem)} the one in its own cells was graded")
        return located
    if problems:
        raise CheckFailed("; ".join(problems))
    if spec.files:
        raise CheckFailed(f"{' or '.join(spec.files)} is missing from the submission, so {spec.name} could not "
                          "be graded")
    if ctx.notebook.file is None:
        raise CheckFailed(f"there is no notebook in the submission, so {spec.name} could not be graded")
    if not ctx.notebook.ready():
        raise CheckFailed(f"{ctx.notebook.file} could not be run, so {spec.name} could not be graded")
    if spec.find == "fit":
        raise CheckFailed(f"{ctx.notebook.file} passes no model to fit, so {spec.name} could not be graded")
    if spec.find == "variable":
        raise CheckFailed(_variable_problem(ctx, spec))
    names = ctx.notebook.names()
    found = _kinds(names).get(spec.name)
    if found:
        raise CheckFailed(f"{spec.name} in {ctx.notebook.file} is a {found.replace('-', ' ')}, not a "
                          f"{WHAT.get(spec.find, spec.find)}")
    raise CheckFailed(f"{ctx.notebook.file} defines no {WHAT.get(spec.find, spec.find)} {spec.name}")


def reference(ctx, subject: Subject, seed: int = 0) -> dict:
    """What the worker is sent to find and build the subject."""
    spec = subject.spec
    located = locate(ctx, spec)
    ref = {"source": located.source, "name": located.name or spec.name, "find": spec.find, "kind": spec.kind,
           "kwargs": subject.kwargs, "args": list(spec.args), "cells": list(located.cells) if located.cells else None,
           "match": spec.match, "parts": spec.parts, "seed": seed,
           "input_shape": list(spec.input.shapes[0]) if spec.input else None,
           "input_shapes": [list(s) for s in spec.input.shapes] if spec.input else [],
           "limit": spec.limit_seconds}
    if spec.argument_aliases:
        ref["argument_aliases"] = {k: list(v) for k, v in spec.argument_aliases.items()}
    return ref
