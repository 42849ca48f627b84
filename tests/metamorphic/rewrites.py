"""Semantics-preserving rewrites of a notebook submission, as a student might have written the same work.

Each rewrite is a pure function ``name(notebook, handout, rng) -> dict | None``: the notebook is the JSON dict of
nbformat v4 (never changed: a new dict is returned), ``handout`` says which names the grader calls and which
answers are written in prose, ``rng`` a ``random.Random`` that makes every choice (the same seed, the same
notebook). None: the rewrite does not apply to this notebook. A correct submission keeps full marks under each
of them; a broken one fails exactly the same checks.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import headings
from .cells import (
    BUILTINS,
    code_cell,
    copy_of,
    edit_code,
    effects_of,
    fresh_name,
    function_locals,
    idempotent,
    lines_of,
    mask,
    module_names,
    name_table,
    node_span,
    parse,
    reindent,
    rename_names,
    scope_binds,
    source_of,
    walk_scope,
    with_source,
)
from .headings import FORMS, HEADING_FORMS


@dataclass(frozen=True)
class Handout:
    """What the handout fixes. ``fixed_names``: names the grader calls or reads (the classes, factories and
    functions it builds or calls, data set classes, and the answer variables when the answers are a separate
    file), which no rewrite renames. ``text_answers``: problem -> the expected number, for answers the grader may
    read from what is written under the problem's heading; ``text_variables``: problem -> that answer's variable."""

    fixed_names: frozenset[str] = frozenset()
    text_answers: dict[str, float] = field(default_factory=dict)
    text_variables: dict[str, str] = field(default_factory=dict)


def handout_of(assignment, keep: Iterable[str] = ()) -> Handout:
    """The handout of an ``autograder.spec.Assignment``; ``keep``: more names no rewrite may rename (those an
    example's expected feedback quotes, say)."""
    from autograder.answer_key import analytic_answer

    fixed = set(keep)
    for subject in assignment.subjects.values():
        if (subject.find in ("class", "factory", "function") or subject.kind == "dataset") and \
                subject.name.isidentifier():
            fixed.add(subject.name)
    answers = assignment.answers
    if answers is not None and answers.file:
        fixed |= set(answers.variables)
    text, variables = {}, {}
    for name, spec in (answers.variables.items() if answers else ()):
        if spec.text:
            value = analytic_answer(assignment, spec.problem)[spec.key]
            text[spec.problem] = int(value) if float(value).is_integer() else float(value)
            variables[spec.problem] = name
    return Handout(frozenset(fixed), text, variables)


REWRITES: dict[str, Callable] = {}


def _rewrite(function: Callable) -> Callable:
    """Register a rewrite; it works on a deep copy, so the notebook it is given is never changed."""

    @functools.wraps(function)
    def pure(notebook: dict, handout: Handout, rng) -> dict | None:
        return function(copy.deepcopy(notebook), handout, rng)

    REWRITES[function.__name__] = pure
    return pure


def compose(notebook: dict, handout: Handout, rng, names: Iterable[str] | None = None) -> tuple[dict, list[str]]:
    """The rewrites ``names`` (default: ``ORDER``, all of them) applied in turn, each to the last one's result;
    returns the notebook and the names of those that applied."""
    applied = []
    for name in ORDER if names is None else names:
        new = REWRITES[name](notebook, handout, rng)
        if new is not None:
            notebook, applied = new, [*applied, name]
    return notebook, applied


def _code_cells(notebook: dict):
    """(index, cell, masked, tree or None) of every code cell."""
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") == "code":
            masked = mask(source_of(cell))
            yield index, cell, masked, parse(masked)


def _calls(tree: ast.AST, *methods: str, in_functions: bool = True) -> bool:
    """Whether ``tree`` calls ``x.<method>(...)`` (inside function bodies too, unless ``in_functions`` is off)."""
    nodes = ast.walk(tree) if in_functions else walk_scope(tree.body if isinstance(tree, ast.Module) else [tree])
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in methods
               for n in nodes)


def _taken(notebook: dict, handout: Handout) -> set[str]:
    return set(name_table(notebook).identifiers) | set(handout.fixed_names) | BUILTINS


# ---------------------------------------------------------------- rename_free_names

SYNONYMS = {
    "net": ("detector", "ae_net", "autoenc"), "model": ("mdl", "clf", "network"), "optimizer": ("opt", "adam"),
    "loss": ("cost", "err"), "loss_fn": ("criterion", "mse"), "criterion": ("loss_func",), "epoch": ("ep", "e"),
    "input_neurons": ("n_inputs", "num_in"), "output_neurons": ("n_outputs", "num_out"),
    "encoded_samples": ("codes", "z_samples"), "code_sizes": ("sizes", "bottlenecks"), "autoencoder": ("ae",),
}


def student_name(name: str, rng, taken: set[str]) -> str:
    """A new name for ``name`` that looks like a student's own (``detector``, ``my_net``, ``x3``), not in
    ``taken`` (which it joins)."""
    if re.fullmatch(r"[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*", name):  # CapWords: a class
        patterns = ["My{n}", "{n}V2", "The{n}", "{n}Model"]
    elif name.isupper():
        patterns = ["MY_{n}", "{n}_2", "N_{n}"]
    elif len(name) <= 2:
        patterns = ["{n}3", "{n}_i", "{n}{n}", "{n}_tmp"]
    else:
        patterns = ["my_{n}", "the_{n}", "{n}_v2", "{n}2", "new_{n}", "{n}_final"]
    choices = [*SYNONYMS.get(name, ()), *(p.format(n=name) for p in patterns)]
    return fresh_name(rng.choice(choices), taken)


def renamable(notebook: dict, handout: Handout) -> set[str]:
    """Names the notebook's code binds that a student was free to choose: not fixed by the handout, not
    imported, not builtins, never a parameter or a keyword argument's name, not a class attribute or method,
    not written in a magic or in a cell that is not Python, not a dunder or ``_``."""
    table = name_table(notebook)
    names = table.bound - table.imported - table.params - table.keywords - table.class_level - table.untouchable
    names -= set(handout.fixed_names) | BUILTINS
    return {n for n in names if n != "_" and not (n.startswith("__") and n.endswith("__"))}


def rename_in_code(notebook: dict, mapping: dict[str, str]) -> dict:
    cells = []
    for cell in notebook["cells"]:
        new = edit_code(cell, lambda code, tree: rename_names(code, mapping)) if cell.get("cell_type") == "code" \
            else None
        cells.append(new or cell)
    return {**notebook, "cells": cells}


@_rewrite
def rename_free_names(notebook: dict, handout: Handout, rng) -> dict | None:
    """Every name the student was free to choose (``renamable``) renamed, consistently in every code cell."""
    names = sorted(renamable(notebook, handout))
    if not names:
        return None
    taken = _taken(notebook, handout)
    return rename_in_code(notebook, {name: student_name(name, rng, taken) for name in names})


# ---------------------------------------------------------------- move_training_into_helper

_NOT_IN_A_FUNCTION = (ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.Global, ast.Nonlocal)


def _alone_on_its_lines(tree: ast.Module, statement: ast.stmt) -> bool:
    others = [s for s in tree.body if s is not statement]
    return statement.col_offset == 0 and not any(
        s.lineno <= statement.end_lineno and s.end_lineno >= statement.lineno for s in others)


def _replace_lines(code: str, first: int, last: int, text: str) -> str:
    """Rows ``first``..``last`` (from 1) replaced by ``text``, whose final newline follows the old last row's."""
    lines = lines_of(code)
    ends_with_newline = lines[last - 1].endswith("\n")
    text = text if text.endswith("\n") or not text else text + "\n"
    if not ends_with_newline:
        text = text.rstrip("\n")
    return "".join(lines[: first - 1]) + text + "".join(lines[last:])


def _wrap_training_loops(code: str, tree: ast.Module, taken: set[str], rng) -> str:
    for statement in reversed(tree.body):
        if not (isinstance(statement, (ast.For, ast.AsyncFor, ast.While)) and _calls(statement, "step", "fit")):
            continue
        if any(isinstance(n, _NOT_IN_A_FUNCTION) for n in walk_scope([statement])) or \
                not _alone_on_its_lines(tree, statement):
            continue
        name = fresh_name(rng.choice(["train", "run_training", "train_model", "training_loop", "do_training"]),
                          taken)
        bound = sorted(scope_binds([statement]))
        segment = "".join(lines_of(code)[statement.lineno - 1: statement.end_lineno])
        text = f"def {name}():\n" + (f"    global {', '.join(bound)}\n" if bound else "")
        text += reindent(segment.rstrip("\n") + "\n", by="    ") + f"\n\n{name}()\n"
        code = _replace_lines(code, statement.lineno, statement.end_lineno, text)
    return code


@_rewrite
def move_training_into_helper(notebook: dict, handout: Handout, rng) -> dict | None:
    """Each top-level loop that trains (calls ``.step()`` or ``.fit(``) wrapped in a new function of the same
    cell, called right after it, that declares ``global`` every name the loop binds (later cells see the same
    values)."""
    taken = _taken(notebook, handout)
    cells, changed = [], False
    for cell in notebook["cells"]:
        new = edit_code(cell, lambda code, tree: _wrap_training_loops(code, tree, taken, rng)) \
            if cell.get("cell_type") == "code" else None
        cells.append(new or cell)
        changed |= new is not None
    return {**notebook, "cells": cells} if changed else None


# ---------------------------------------------------------------- inline_helper


@dataclass
class _Helper:
    name: str
    cell: int
    node: ast.FunctionDef
    call_cell: int | None = None
    call_statement: ast.stmt | None = None
    call: ast.Call | None = None


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand)
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_constant(e) for e in node.elts)
    return isinstance(node, ast.Constant)


def _inlinable(node: ast.FunctionDef) -> bool:
    """A plain function: no decorators, *args or **kwargs, nested functions, classes, lambdas, yield, global,
    nonlocal or imports; constant defaults; at most one return, its last statement."""
    args = node.args
    if node.decorator_list or args.vararg or args.kwarg or args.posonlyargs:
        return False
    if not all(_constant(d) for d in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]):
        return False
    inside = list(walk_scope(node.body))
    if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.Yield,
                          ast.YieldFrom, ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom, ast.Await))
           for n in inside):
        return False
    returns = [n for n in inside if isinstance(n, ast.Return)]
    return not returns or (len(returns) == 1 and node.body[-1] is returns[0])


def _helpers(notebook: dict, handout: Handout) -> list[_Helper]:
    """Functions defined once at the top of a cell, called exactly once (and used nowhere else) as a top-level
    statement ``f(...)`` or ``name = f(...)`` of a later point of the notebook."""
    defined: dict[str, list[_Helper]] = {}
    loads: dict[str, int] = {}
    calls: dict[str, list] = {}
    for index, _, _, tree in _code_cells(notebook):
        if tree is None:
            continue
        for statement in tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defined.setdefault(statement.name, []).append(_Helper(statement.name, index, statement))
        tops = {id(s.value): s for s in tree.body if isinstance(s, (ast.Expr, ast.Assign))}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loads[node.id] = loads.get(node.id, 0) + 1
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                calls.setdefault(node.func.id, []).append((index, tops.get(id(node)), node))
    found = []
    for name, helpers in sorted(defined.items()):
        if len(helpers) != 1 or name in handout.fixed_names or loads.get(name) != 1 or len(calls.get(name, [])) != 1:
            continue
        helper, (call_cell, statement, call) = helpers[0], calls[name][0]
        if statement is None or not isinstance(helper.node, ast.FunctionDef) or not _inlinable(helper.node):
            continue
        if isinstance(statement, ast.Assign) and not all(isinstance(t, (ast.Name, ast.Tuple)) for t in
                                                         statement.targets):
            continue
        later = call_cell > helper.cell or (call_cell == helper.cell and statement.lineno > helper.node.end_lineno)
        if later and not any(isinstance(a, ast.Starred) for a in call.args) and \
                all(k.arg for k in call.keywords):
            helper.call_cell, helper.call_statement, helper.call = call_cell, statement, call
            found.append(helper)
    return found


def _bind_arguments(helper: _Helper, call_code: str, def_code: str) -> list[tuple[str, str]] | None:
    """(parameter, source of its value) in the order the call evaluates them, then the defaults; None when the
    call does not fit the signature."""
    args = helper.node.args
    positional = [a.arg for a in args.args]
    keyword_only = [a.arg for a in args.kwonlyargs]
    if len(helper.call.args) > len(positional):
        return None

    def text(node, code):
        segment = ast.get_source_segment(code, node)
        return f"({segment})" if "\n" in segment or isinstance(node, ast.GeneratorExp) else segment

    bound = [(positional[i], text(a, call_code)) for i, a in enumerate(helper.call.args)]
    for k in helper.call.keywords:
        if k.arg not in positional + keyword_only or k.arg in dict(bound):
            return None
        bound.append((k.arg, text(k.value, call_code)))
    defaults = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True))
    defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None}
    for parameter in positional + keyword_only:
        if parameter not in dict(bound):
            if parameter not in defaults:
                return None
            bound.append((parameter, text(defaults[parameter], def_code)))
    return bound


def _inlined(helper: _Helper, call_code: str, def_code: str, taken: set[str]) -> str | None:
    """The code that replaces the call statement: parameters and locals under new names, the body, the result."""
    bound = _bind_arguments(helper, call_code, def_code)
    if bound is None:
        return None
    mapping = {n: fresh_name(f"{n}_{helper.name}", taken) for n in sorted(function_locals(helper.node))}
    body = helper.node.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
            isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    result = None
    if body and isinstance(body[-1], ast.Return):
        result = rename_names(ast.get_source_segment(def_code, body[-1].value), mapping) \
            if body[-1].value is not None else None
        body = body[:-1]
    text = "".join(f"{mapping[p]} = {value}\n" for p, value in bound)
    if body:
        segment = "".join(lines_of(def_code)[body[0].lineno - 1: body[-1].end_lineno])
        text += rename_names(reindent(segment.rstrip("\n") + "\n", dedent=body[0].col_offset), mapping)
    statement = helper.call_statement
    if isinstance(statement, ast.Assign):
        targets = " = ".join(ast.get_source_segment(call_code, t) for t in statement.targets)
        text += f"{targets} = {result if result is not None else 'None'}\n"
    elif result is not None:
        text += f"{result}\n"
    return text


@_rewrite
def inline_helper(notebook: dict, handout: Handout, rng) -> dict | None:
    """A helper function (not fixed by the handout) called once in the notebook, as a top-level statement
    ``f(...)`` or ``name = f(...)``, written out in place of the call: its parameters bound to the call's
    arguments and its locals under new names (``labels_plot_scatter``) so they clobber no global; its ``def``
    removed. Only a plain helper qualifies (see ``_inlinable``); None when none does."""
    helpers = _helpers(notebook, handout)
    if not helpers:
        return None
    helper = rng.choice(helpers)
    cells = notebook["cells"]
    def_masked = mask(source_of(cells[helper.cell]))
    call_masked = mask(source_of(cells[helper.call_cell]))
    text = _inlined(helper, call_masked.code, def_masked.code, _taken(notebook, handout))
    if text is None:
        return None
    statement = helper.call_statement
    if helper.cell == helper.call_cell:
        code = _replace_lines(def_masked.code, statement.lineno, statement.end_lineno, text)
        code = _replace_lines(code, helper.node.lineno, helper.node.end_lineno, "")
        cells[helper.cell] = with_source(cells[helper.cell], def_masked.restore(code))
    else:
        code = _replace_lines(call_masked.code, statement.lineno, statement.end_lineno, text)
        cells[helper.call_cell] = with_source(cells[helper.call_cell], call_masked.restore(code))
        code = _replace_lines(def_masked.code, helper.node.lineno, helper.node.end_lineno, "")
        cells[helper.cell] = with_source(cells[helper.cell], def_masked.restore(code))
    if not source_of(cells[helper.cell]).strip():
        del cells[helper.cell]
    return {**notebook, "cells": cells}


# ---------------------------------------------------------------- rewrite_headings


@_rewrite
def rewrite_headings(notebook: dict, handout: Handout, rng) -> dict | None:
    """Every problem heading written in another form a student or handout might use (one drawn per heading from
    ``HEADING_FORMS``), naming the same problems and parts."""
    return headings.rewrite(notebook, lambda h: rng.choice(FORMS))


def rewrite_headings_in(notebook: dict, form) -> dict | None:
    """Every problem heading written in the one form ``form`` (a name of ``HEADING_FORMS``, or a Form)."""
    form = HEADING_FORMS[form] if isinstance(form, str) else form
    return headings.rewrite(copy.deepcopy(notebook), lambda h: form)


# ---------------------------------------------------------------- write_answers_in_prose

PROSE_8X8 = [
    "{v} {units}, one for each of the 8x8 pixels",
    "**{v}** (8 x 8)",
    "The images are 8 × 8, so the {layer} layer has {v} neurons.",
    "Answer: {v} (one neuron per pixel of the 8x8 image; pixel values range 0-16)",
    "$8 \\times 8 = {v}$ neurons",
]
PROSE = ["{v} {units}", "**{v}**", "Answer: {v}", "The {layer} layer has {v} neurons.", "$n = {v}$"]


def prose_answer(value, variable: str, rng) -> str:
    """A sentence answering with ``value`` (one of several forms; an 8x8 image's wording where it is 64)."""
    layer = next((w for w in ("input", "output") if w in variable), "")
    units = f"{layer}s" if layer else "neurons"
    forms = PROSE_8X8 if value == 64 else PROSE
    return rng.choice(forms).format(v=value, units=units, layer=layer or "hidden").replace("The  layer", "The layer")


def _answer_heading(notebook: dict, problem: str):
    return next((h for h in headings.read_headings(notebook) if h.problems == (problem,)), None)


@_rewrite
def write_answers_in_prose(notebook: dict, handout: Handout, rng) -> dict | None:
    """For each answer the grader may read as text: what is written under the problem's heading (in its cell)
    replaced by a prose answer with the expected value, and the answer's variable renamed in the code, so that
    the prose is what the grader must read."""
    cells, changed = notebook["cells"], False
    taken = _taken(notebook, handout)
    mapping = {}
    for problem, value in sorted(handout.text_answers.items()):
        heading = _answer_heading({**notebook, "cells": cells}, problem)
        if heading is None:
            continue
        variable = handout.text_variables.get(problem, "")
        lines = source_of(cells[heading.cell]).splitlines(keepends=True)
        following = [h.line for h in headings.read_headings({"cells": [cells[heading.cell]]})
                     if h.line > heading.line]
        end = following[0] if following else len(lines)
        head = lines[heading.line] if lines[heading.line].endswith("\n") else lines[heading.line] + "\n"
        prose = "\n" + prose_answer(value, variable, rng) + ("\n\n" if end < len(lines) else "")
        new = "".join(lines[: heading.line]) + head + prose + "".join(lines[end:])
        cells[heading.cell] = with_source(cells[heading.cell], new)
        changed = True
        if variable and variable not in handout.fixed_names:
            mapping[variable] = student_name(variable, rng, taken)
    if not changed:
        return None
    return rename_in_code({**notebook, "cells": cells}, mapping)


# ---------------------------------------------------------------- add_unrelated_models

TOY_MODELS = [
    """# a quick check of my training loop on a toy regression problem
with {torch}.random.fork_rng(devices=[]):  # leaves the random state as it was
    {model} = {nn}.Sequential({nn}.Linear(3, 8), {nn}.ReLU(), {nn}.Linear(8, 1))
    {opt} = {torch}.optim.SGD({model}.parameters(), lr=0.05)
    {x}, {y} = {torch}.randn(64, 3), {torch}.randn(64, 1)
    for {step} in range(5):
        {opt}.zero_grad()
        {loss} = {nn}.functional.mse_loss({model}({x}), {y})
        {loss}.backward()
        {opt}.step()
print("toy regression loss:", {loss}.item())
""",
    """# trying a tiny classifier on random labels, to see the cross-entropy fall
with {torch}.random.fork_rng(devices=[]):
    {model} = {nn}.Sequential({nn}.Linear(4, 16), {nn}.Tanh(), {nn}.Linear(16, 3))
    {opt} = {torch}.optim.Adam({model}.parameters(), lr=1e-2)
    {x}, {y} = {torch}.randn(32, 4), {torch}.randint(0, 3, (32,))
    for {step} in range(6):
        {opt}.zero_grad()
        {loss} = {nn}.CrossEntropyLoss()({model}({x}), {y})
        {loss}.backward()
        {opt}.step()
""",
    """# a small conv net on noise (how fast does a 3x3 conv fit?)
with {torch}.random.fork_rng(devices=[]):
    {model} = {nn}.Sequential({nn}.Conv2d(1, 2, 3, padding=1), {nn}.ReLU(), {nn}.Flatten(), {nn}.Linear(72, 1))
    {opt} = {torch}.optim.SGD({model}.parameters(), lr=0.01, momentum=0.9)
    {x}, {y} = {torch}.randn(16, 1, 6, 6), {torch}.randn(16, 1)
    for {step} in range(4):
        {opt}.zero_grad()
        {loss} = (({model}({x}) - {y}) ** 2).mean()
        {loss}.backward()
        {opt}.step()
{model}
""",
]


def module_alias(notebook: dict, name: str, dotted: str, taken: set[str]) -> tuple[str, str]:
    """(the name to use for the module ``dotted``, the import line that binds it): ``name`` when the notebook
    binds ``name`` to that module or to nothing, else a fresh alias."""
    for _, _, _, tree in _code_cells(notebook):
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name or \
                    isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                other = True
            elif isinstance(node, ast.Import):
                other = any((a.asname or a.name.split(".")[0]) == name and
                            (a.name if a.asname else a.name.split(".")[0]) != dotted for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                other = any((a.asname or a.name) == name and f"{node.module}.{a.name}" != dotted for a in node.names)
            else:
                other = False
            if other:
                alias = fresh_name(f"{name}_lib", taken)
                return alias, f"import {dotted} as {alias}"
    taken.add(name)
    return name, f"import {dotted}" if name == dotted else f"import {dotted} as {name}"


def _toy_cell(notebook: dict, rng, taken: set[str]) -> dict:
    torch, torch_import = module_alias(notebook, "torch", "torch", taken)
    nn, nn_import = module_alias(notebook, "nn", "torch.nn", taken)
    names = {key: fresh_name(base, taken) for key, base in (
        ("model", rng.choice(["toy_model", "sanity_net", "tiny_mlp", "scratch_model"])),
        ("opt", rng.choice(["toy_opt", "sanity_opt", "opt_scratch"])), ("x", "toy_x"), ("y", "toy_y"),
        ("step", "toy_step"), ("loss", rng.choice(["toy_loss", "sanity_loss"])))}
    text = f"{torch_import}\n{nn_import}\n\n" + rng.choice(TOY_MODELS).format(torch=torch, nn=nn, **names)
    return code_cell(text.rstrip("\n"), notebook, rng)


@_rewrite
def add_unrelated_models(notebook: dict, handout: Handout, rng) -> dict | None:
    """Code cells that build and train small unrelated torch models (random data, their own optimizer, a handful
    of steps, new names; the random state restored after) inserted after the first code cell, after the last
    cell of each problem (before the next heading) and at the end."""
    cells = notebook["cells"]
    first_code = next((i for i, c in enumerate(cells) if c.get("cell_type") == "code"), None)
    if first_code is None:
        return None
    heading_cells = sorted({h.cell for h in headings.read_headings(notebook)})
    places = {first_code + 1, len(cells), *heading_cells[1:]}
    taken = _taken(notebook, handout)
    for place in sorted(places, reverse=True):
        cells.insert(place, _toy_cell(notebook, rng, taken))
    return {**notebook, "cells": cells}


# ---------------------------------------------------------------- rerun_cell_twice


def _training_functions(notebook: dict) -> set[str]:
    return {node.name for _, _, _, tree in _code_cells(notebook) if tree
            for node in tree.body if isinstance(node, ast.FunctionDef) and _calls(node, "step", "fit")}


def _trains(tree: ast.Module, trainers: set[str]) -> bool:
    """Whether running the cell trains: it calls ``.step()`` or ``.fit(`` outside a function body, or calls a
    function of the notebook that does."""
    top = list(walk_scope(tree.body))
    return _calls(tree, "step", "fit", in_functions=False) or any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in trainers for n in top)


@_rewrite
def rerun_cell_twice(notebook: dict, handout: Handout, rng) -> dict | None:
    """Each cell that defines a class or function, or trains, and that is idempotent by names (no name both read
    before it is bound and bound by the cell, nothing of earlier cells changed in place), run a second time: a
    copy right after it."""
    trainers = _training_functions(notebook)
    modules = module_names(notebook)
    trees = {index: (masked, tree) for index, _, masked, tree in _code_cells(notebook)}
    cells, changed = [], False
    for index, cell in enumerate(notebook["cells"]):
        cells.append(cell)
        masked, tree = trees.get(index, (None, None))
        if tree is None or masked.magics:
            continue
        defines = any(isinstance(s, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) for s in tree.body)
        if (defines or _trains(tree, trainers)) and idempotent(effects_of(tree, modules)):
            cells.append(copy_of(cell, notebook, rng))
            changed = True
    return {**notebook, "cells": cells} if changed else None


# ---------------------------------------------------------------- reorder_independent_cells

ALL_RESOURCES = {"<rng>", "<plt>", "<fs>"}


def footprint(tree: ast.Module, modules: set[str], functions: dict[str, set[str]]) -> tuple[set[str], set[str]]:
    """(what a cell reads, what it changes): names and the shared state ("<rng>", "<plt>", "<fs>"). A method call
    on a name, or a name given to a call, counts as a change of it; a call of the notebook's own function reads
    and changes every global the function uses, and all the shared state."""
    effects = effects_of(tree, modules)
    reads = effects.names("load", "method", "argument", "call", "mutate") | effects.resources
    writes = effects.names("store", "mutate", "method", "argument") | effects.resources
    for kind, name, _ in effects.events:
        if kind == "call" and name in functions:
            reads |= functions[name]
            writes |= functions[name] | ALL_RESOURCES
    return reads, writes


@_rewrite
def reorder_independent_cells(notebook: dict, handout: Handout, rng) -> dict | None:
    """Adjacent code cells (no markdown between) swapped where neither changes what the other reads or changes
    (names, the random state, the current figure, files); cells with magics or that are not Python stay."""
    modules = module_names(notebook)
    functions = {}
    for _, _, _, tree in _code_cells(notebook):
        if tree is not None:
            functions |= effects_of(tree, modules).defines
    cells = notebook["cells"]
    prints = []
    for cell in cells:
        masked = mask(source_of(cell)) if cell.get("cell_type") == "code" else None
        tree = parse(masked) if masked is not None and not masked.magics else None
        prints.append(footprint(tree, modules, functions) if tree is not None else None)
    index, swapped = 0, False
    while index + 1 < len(cells):
        a, b = prints[index], prints[index + 1]
        if a is not None and b is not None and not (a[1] & (b[0] | b[1])) and not (b[1] & a[0]):
            cells[index], cells[index + 1] = cells[index + 1], cells[index]
            swapped, index = True, index + 2
        else:
            index += 1
    return {**notebook, "cells": cells} if swapped else None


# ---------------------------------------------------------------- change_batch_sizes

SMALLER_BATCH = {64: 32, 32: 16, 128: 64, 256: 128, 100: 50, 16: 8, 50: 25, 10: 5}
_EVALUATION_LOADER = re.compile(r"test|val", re.IGNORECASE)

LOOK_AT_TEN = """

# a look at ten images of {loader} before moving on
{imports}with {torch}.random.fork_rng(devices=[]):  # iterating a loader draws from the random state
    {batch} = next(iter({loader}))
{images} = {batch}[0] if isinstance({batch}, (list, tuple)) else {batch}
{fig}, {axes} = {plt}.subplots(1, 10, figsize=(15, 1.5))
for {i}, {ax} in enumerate({axes}):
    if {i} < len({images}):
        {ax}.plot({np}.asarray({images}[{i}].detach().cpu()).ravel())
{plt}.show()
{plt}.close({fig})
"""


def _is_dataloader(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "DataLoader")
        or (isinstance(node.func, ast.Attribute) and node.func.attr == "DataLoader"))


def _smaller_batches(code: str, tree: ast.Module) -> str:
    edits = []
    for node in ast.walk(tree):
        if _is_dataloader(node):
            for k in node.keywords:
                value = k.value
                if k.arg == "batch_size" and isinstance(value, ast.Constant) and type(value.value) is int and \
                        value.value > 1:
                    start, end = node_span(code, value)
                    edits.append((start, end, str(SMALLER_BATCH.get(value.value, max(1, value.value // 2)))))
    for start, end, text in sorted(edits, reverse=True):
        code = code[:start] + text + code[end:]
    return code


def _look_at_ten(notebook: dict, loader: str, taken: set[str]) -> str:
    torch, torch_import = module_alias(notebook, "torch", "torch", taken)
    np, np_import = module_alias(notebook, "np", "numpy", taken)
    plt, plt_import = module_alias(notebook, "plt", "matplotlib.pyplot", taken)
    names = {key: fresh_name(base, taken) for key, base in (
        ("batch", "look_batch"), ("images", "look_images"), ("fig", "look_fig"), ("axes", "look_axes"),
        ("i", "look_i"), ("ax", "look_ax"))}
    imports = "".join(f"{line}\n" for line in (torch_import, np_import, plt_import))
    return LOOK_AT_TEN.format(loader=loader, imports=imports, torch=torch, np=np, plt=plt, **names)


@_rewrite
def change_batch_sizes(notebook: dict, handout: Handout, rng) -> dict | None:
    """Integer ``batch_size=`` literals of DataLoader calls made smaller (64 -> 32; a whole-set batch such as
    ``batch_size=len(X)`` stays), and, at the end of each cell that trains (calls ``.step()``) with a
    DataLoader-built test or validation loader in scope, a few lines that plot the first ten items of that
    loader's first batch (the random state left as it was)."""
    taken = _taken(notebook, handout)
    loaders: list[str] = []  # evaluation loaders bound so far, the latest last
    cells, changed = [], False
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            cells.append(cell)
            continue
        masked = mask(source_of(cell))
        tree = parse(masked)
        if tree is None:
            cells.append(cell)
            continue
        for statement in tree.body:
            if isinstance(statement, ast.Assign):
                for name in {n.id for t in statement.targets for n in ast.walk(t) if isinstance(n, ast.Name)}:
                    loaders = [n for n in loaders if n != name]
                    if _is_dataloader(statement.value) and _EVALUATION_LOADER.search(name):
                        loaders.append(name)
        code = _smaller_batches(masked.code, tree)
        if _calls(tree, "step", in_functions=False) and loaders:
            code = code.rstrip("\n") + _look_at_ten(notebook, loaders[-1], taken).rstrip("\n")
        if code != masked.code:
            cells.append(with_source(cell, masked.restore(code)))
            changed = True
        else:
            cells.append(cell)
    return {**notebook, "cells": cells} if changed else None


# ---------------------------------------------------------------- composition

ORDER = [
    "write_answers_in_prose", "inline_helper", "move_training_into_helper", "change_batch_sizes",
    "reorder_independent_cells", "rerun_cell_twice", "add_unrelated_models", "rename_free_names",
    "rewrite_headings",
]
assert set(ORDER) == set(REWRITES), "every rewrite has its place in the composition"
