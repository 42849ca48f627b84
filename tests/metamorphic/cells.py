"""The code cells of a notebook as Python text: IPython magics masked and restored, token-level edits, and what
a cell reads, binds and changes.

A notebook here is the JSON dict of nbformat v4; a cell's ``source`` is a string or a list of strings, and is
written back in the form it had. Nothing here executes code.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import token
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

PLACEHOLDER = "__ipython_magic_{}__"
_PLACEHOLDER = re.compile(r"__ipython_magic_(\d+)__")
PYTHON_CELL_MAGICS = {"capture", "time", "timeit", "prun", "debug", "skip"}  # %%magic whose body is Python
IPYTHON_NAMES = {"In", "Out", "get_ipython", "display", "exit", "quit", "_ih", "_oh", "_dh", "_i", "_ii", "_iii"}
BUILTINS = set(dir(builtins)) | IPYTHON_NAMES

_LINE_MAGIC = re.compile(r"^(?P<indent>[ \t]*)(?P<magic>[%!].*?)(?P<eol>\r?\n)?$")
_ASSIGNED_MAGIC = re.compile(r"^(?P<head>[ \t]*[A-Za-z_][\w \t,]*=[ \t]*)(?P<magic>[%!][^=].*?)(?P<eol>\r?\n)?$")
_HELP = re.compile(r"^(?P<indent>[ \t]*)(?P<magic>[A-Za-z_][\w.]*\?\??)[ \t]*(?P<eol>\r?\n)?$")


# ---------------------------------------------------------------- cells


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def with_source(cell: dict, text: str) -> dict:
    """A copy of ``cell`` holding ``text``, as a list of lines or a string as the cell had it."""
    new = {**cell}
    new["source"] = text.splitlines(keepends=True) if isinstance(cell.get("source"), list) else text
    return new


def code_cell(text: str, notebook: dict, rng, like: dict | None = None) -> dict:
    """A new code cell (no outputs) for ``notebook``, with a fresh id where the notebook's format has ids."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ""}
    if wants_ids(notebook):
        cell["id"] = fresh_id(notebook, rng)
    as_list = isinstance((like or first_code_cell(notebook) or {}).get("source", []), list)
    cell["source"] = text.splitlines(keepends=True) if as_list else text
    return cell


def copy_of(cell: dict, notebook: dict, rng) -> dict:
    """``cell`` again (as a student re-running a cell by copying it): same source, no outputs, a fresh id."""
    new = {**cell, "outputs": [], "execution_count": None} if cell.get("cell_type") == "code" else {**cell}
    if "id" in cell or wants_ids(notebook):
        new["id"] = fresh_id(notebook, rng)
    return new


def first_code_cell(notebook: dict) -> dict | None:
    return next((c for c in notebook.get("cells", []) if c.get("cell_type") == "code"), None)


def wants_ids(notebook: dict) -> bool:
    return (notebook.get("nbformat", 4), notebook.get("nbformat_minor", 0)) >= (4, 5)


def fresh_id(notebook: dict, rng) -> str:
    taken = {c.get("id") for c in notebook.get("cells", [])}
    while True:
        candidate = "".join(rng.choice("0123456789abcdef") for _ in range(8))
        if candidate not in taken:
            return candidate


def with_cells(notebook: dict, cells: list[dict]) -> dict:
    return {**notebook, "cells": cells}


# ---------------------------------------------------------------- magics


@dataclass(frozen=True)
class Masked:
    """A cell's source as Python: each IPython magic, shell escape or help line replaced by a placeholder name
    (``__ipython_magic_0__``) that ``restore`` puts back. ``opaque``: a cell magic whose body is not Python."""

    code: str
    magics: tuple[str, ...] = ()
    opaque: bool = False

    def restore(self, code: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.magics[int(m[1])], code)

    def words(self) -> set[str]:
        """The identifiers written in the magics (names a magic may use: never renamed)."""
        return {w for magic in self.magics for w in re.findall(r"[A-Za-z_]\w*", magic)}


def mask(source: str) -> Masked:
    lines = source.splitlines(keepends=True)
    first = lines[0].strip() if lines else ""
    if first.startswith("%%") and first[2:].split(" ")[0] not in PYTHON_CELL_MAGICS:
        return Masked(source, (), opaque=True)
    magics: list[str] = []
    out = []
    for line in lines:
        for pattern, head in ((_LINE_MAGIC, "indent"), (_ASSIGNED_MAGIC, "head"), (_HELP, "indent")):
            match = pattern.match(line)
            if match and not (pattern is _HELP and keyword.iskeyword(match["magic"].rstrip("?"))):
                out.append(f"{match[head]}{PLACEHOLDER.format(len(magics))}{match['eol'] or ''}")
                magics.append(match["magic"])
                break
        else:
            out.append(line)
    return Masked("".join(out), tuple(magics))


def parse(masked: Masked) -> ast.Module | None:
    if masked.opaque:
        return None
    try:
        return ast.parse(masked.code)
    except (SyntaxError, ValueError):
        return None


def compiles(source: str) -> bool:
    """Whether a cell's source, magics masked, is valid Python (an opaque cell magic counts as valid)."""
    masked = mask(source)
    return masked.opaque or parse(masked) is not None


def edit_code(cell: dict, edit) -> dict | None:
    """``cell`` with ``edit(code, tree) -> code | None`` applied to its masked source; None when the cell is not
    Python or the edit changes nothing."""
    masked = mask(source_of(cell))
    tree = parse(masked)
    if tree is None:
        return None
    code = edit(masked.code, tree)
    if code is None or code == masked.code:
        return None
    return with_source(cell, masked.restore(code))


# ---------------------------------------------------------------- positions and token edits


def lines_of(code: str) -> list[str]:
    return io.StringIO(code).readlines()


def char_col(line: str, byte_col: int) -> int:
    """ast's column (UTF-8 bytes) as a column in characters."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def offset(lines: list[str], row: int, col: int) -> int:
    """The offset in the text of (row from 1, character column)."""
    return sum(len(line) for line in lines[: row - 1]) + col


def node_span(code: str, node: ast.AST) -> tuple[int, int]:
    """Start and end offsets of ``node`` in ``code`` (characters)."""
    lines = lines_of(code)
    start = offset(lines, node.lineno, char_col(lines[node.lineno - 1], node.col_offset))
    end = offset(lines, node.end_lineno, char_col(lines[node.end_lineno - 1], node.end_col_offset))
    return start, end


def apply_edits(code: str, edits: Iterable[tuple[int, int, str]]) -> str:
    """Replace the spans (start, end, text), which must not overlap."""
    for start, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
        code = code[:start] + text + code[end:]
    return code


def _significant(tokens: list, index: int, step: int):
    index += step
    while 0 <= index < len(tokens):
        if tokens[index].type not in (token.NL, token.NEWLINE, token.COMMENT, token.INDENT, token.DEDENT):
            return tokens[index]
        index += step
    return None


def tokens_of(code: str) -> list | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return None


def rename_names(code: str, mapping: Mapping[str, str]) -> str:
    """Every use of a name of ``mapping`` as a variable renamed, token by token: never an attribute (``x.net``), a
    keyword argument (``f(net=...)``), a module in an import statement or a word in a string; names in the
    expressions of f-strings are renamed."""
    tokens = tokens_of(code) if mapping else None
    if not tokens:
        return code
    lines = lines_of(code)
    edits = []
    depth, statement_start, in_import = 0, True, False
    for index, tok in enumerate(tokens):
        if tok.type in (token.NEWLINE, token.NL, token.COMMENT, token.INDENT, token.DEDENT, token.ENDMARKER):
            if tok.type == token.NEWLINE:
                statement_start, in_import = True, False
            continue
        if tok.type == token.OP:
            depth += tok.string in "([{"
            depth -= tok.string in ")]}"
            if tok.string == ";":
                statement_start, in_import = True, False
                continue
        elif tok.type == token.NAME:
            if statement_start and tok.string in ("import", "from"):
                in_import = True
            previous, following = _significant(tokens, index, -1), _significant(tokens, index, 1)
            is_attribute = previous is not None and previous.string == "." and previous.type == token.OP
            is_keyword = depth > 0 and following is not None and following.string == "="
            if tok.string in mapping and not (in_import or is_attribute or is_keyword):
                edits.append((offset(lines, *tok.start), offset(lines, *tok.end), mapping[tok.string]))
        elif tok.type == token.STRING and _is_fstring(tok.string):
            edits.extend(_fstring_edits(tok, lines, mapping))
        statement_start = False
    return apply_edits(code, edits)


def _is_fstring(text: str) -> bool:
    prefix = re.match(r"^[A-Za-z]*", text)[0].lower()
    return "f" in prefix


def _fstring_edits(tok, lines: list[str], mapping: Mapping[str, str]) -> list:
    try:
        tree = ast.parse(tok.string, mode="eval")
    except SyntaxError:
        return []
    own_lines = tok.string.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in mapping:
            col = char_col(own_lines[node.lineno - 1], node.col_offset)
            row = tok.start[0] + node.lineno - 1
            col += tok.start[1] if node.lineno == 1 else 0
            edits.append((offset(lines, row, col), offset(lines, row, col + len(node.id)), mapping[node.id]))
    return edits


def name_tokens(code: str) -> set[str]:
    """Every identifier written in ``code`` (variables, attributes, keywords of calls), f-strings included."""
    tokens = tokens_of(code) or []
    found = {t.string for t in tokens if t.type == token.NAME}
    for t in tokens:
        if t.type == token.STRING and _is_fstring(t.string):
            found |= set(re.findall(r"[A-Za-z_]\w*", t.string))
    return found


def string_lines(code: str) -> set[int]:
    """Rows (from 1) that continue a string begun on an earlier row: their text is the string's, not code's, and
    must not be re-indented."""
    rows = set()
    for tok in tokens_of(code) or []:
        if tok.type == token.STRING and tok.end[0] > tok.start[0]:
            rows.update(range(tok.start[0] + 1, tok.end[0] + 1))
    return rows


def reindent(code: str, by: str = "", dedent: int = 0) -> str:
    """Each code line (not the continuation of a multi-line string) with ``dedent`` leading columns removed (only
    whitespace) and ``by`` added; blank lines stay blank."""
    keep = string_lines(code)
    out = []
    for row, line in enumerate(lines_of(code), start=1):
        if row in keep:
            out.append(line)
            continue
        if not line.strip():
            out.append(line.lstrip(" \t"))
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        out.append(by + line[min(indent, dedent):])
    return "".join(out)


# ---------------------------------------------------------------- names


def binding_names(target: ast.AST) -> set[str]:
    """Names an assignment target binds."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(binding_names(e) for e in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return binding_names(target.value)
    return set()


def imported_names(node: ast.Import | ast.ImportFrom) -> set[str]:
    return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


def walk_scope(nodes: Iterable[ast.AST]):
    """The nodes of a scope, without descending into nested scopes (a nested def or class itself is yielded)."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            continue
        stack.extend(list(ast.iter_child_nodes(node))[::-1])


def scope_binds(nodes: Iterable[ast.AST]) -> set[str]:
    """Names bound directly in a scope (assignments, loops, with, except, imports, defs and classes)."""
    names = set()
    for node in walk_scope(nodes):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= imported_names(node)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return names


def function_locals(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    args = node.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    if isinstance(node, ast.Lambda):
        return params
    declared = {n for s in walk_scope(node.body) if isinstance(s, (ast.Global, ast.Nonlocal)) for n in s.names}
    return params | (scope_binds(node.body) - declared)


@dataclass
class NameTable:
    """What a notebook's code does with each name, over all its code cells."""

    bound: set[str] = field(default_factory=set)  # bound anywhere (module level, functions, loops)
    class_level: set[str] = field(default_factory=set)  # bound directly in a class body: attributes, methods
    params: set[str] = field(default_factory=set)  # function and lambda parameters
    keywords: set[str] = field(default_factory=set)  # keyword names of calls and class statements
    imported: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)  # every identifier written anywhere
    untouchable: set[str] = field(default_factory=set)  # written in magics, or in cells that are not Python

    def add(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                self.bound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.bound.add(node.name)
                self.params |= function_locals(node) - scope_binds(node.body)
            elif isinstance(node, ast.Lambda):
                self.params |= function_locals(node)
            elif isinstance(node, ast.ClassDef):
                self.bound.add(node.name)
                self.class_level |= scope_binds(node.body)
                self.keywords |= {k.arg for k in node.keywords if k.arg}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.imported |= imported_names(node)
            elif isinstance(node, ast.keyword) and node.arg:
                self.keywords.add(node.arg)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self.bound.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                self.bound.add(node.name)


def name_table(notebook: dict) -> NameTable:
    table = NameTable()
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        masked = mask(source_of(cell))
        table.untouchable |= masked.words()
        tree = parse(masked)
        words = name_tokens(masked.code) if not masked.opaque else set(re.findall(r"[A-Za-z_]\w*", masked.code))
        table.identifiers |= words | masked.words()
        if tree is None:
            table.untouchable |= words
        else:
            table.add(tree)
    return table


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base`` with a number, not in ``taken`` (which it joins) and not a keyword or builtin."""
    candidate, number = base, 2
    while candidate in taken or keyword.iskeyword(candidate) or candidate in BUILTINS:
        candidate, number = f"{base}{number}", number + 1
    taken.add(candidate)
    return candidate


# ---------------------------------------------------------------- effects of a cell

RNG_CALLS = {"rand", "randn", "randint", "randperm", "random", "normal", "normal_", "uniform", "uniform_",
             "shuffle", "choice", "permutation", "sample", "manual_seed", "seed", "bernoulli", "multinomial",
             "rand_like", "randn_like", "train_test_split", "dropout", "iter", "next", "fit", "step", "backward"}
FILE_CALLS = {"save", "load", "open", "savefig", "read_csv", "to_csv", "savez", "loadtxt", "savetxt", "mount",
              "urlretrieve", "download", "load_data", "load_state_dict", "chdir", "makedirs", "mkdir", "remove",
              "FashionMNIST", "MNIST", "CIFAR10", "ImageFolder"}
PLOT_CALLS = {"plot", "imshow", "scatter", "hist", "show", "figure", "subplot", "subplots", "title", "xlabel",
              "ylabel", "legend", "colorbar", "axis", "bar", "set_title", "tight_layout", "suptitle", "close"}
PURE_CALLS = {"print", "len", "range", "str", "int", "float", "bool", "type", "isinstance", "repr", "format",
              "sorted", "list", "tuple", "dict", "set", "enumerate", "zip", "min", "max", "sum", "abs", "round",
              "id", "hash", "any", "all", "reversed", "map", "filter", "display"}
MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "add",
                    "discard", "sort", "reverse", "popitem", "write", "register_buffer", "add_module", "apply",
                    "load_state_dict"}


@dataclass
class Effects:
    """What one cell does, at run time, in the order it does it."""

    events: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, name, detail)
    resources: set[str] = field(default_factory=set)  # "<rng>", "<plt>", "<fs>"
    defines: dict[str, set[str]] = field(default_factory=dict)  # function defined -> the globals it uses

    def names(self, *kinds: str) -> set[str]:
        return {name for kind, name, _ in self.events if kind in kinds}


def base_name(node: ast.AST) -> str | None:
    """``x`` of ``x``, ``x.a``, ``x[i]``, ``x.a[i].b``."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class _Flow(ast.NodeVisitor):
    """Events of a cell in evaluation order: loads, stores, mutations (attribute or item stores, in-place
    operators), method calls, arguments given to calls; a function's body counts where it is defined."""

    def __init__(self, modules: set[str]):
        self.effects = Effects()
        self.local: list[set[str]] = []  # names local to the scopes being visited
        self.modules = modules

    def record(self, kind: str, name: str | None, detail: str = "") -> None:
        if name is not None and not any(name in scope for scope in self.local):
            self.effects.events.append((kind, name, detail))

    def visit_Name(self, node):
        self.record("load" if isinstance(node.ctx, ast.Load) else "store", node.id)

    def target(self, node):
        if isinstance(node, ast.Name):
            self.record("store", node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        else:  # x.a = ..., x[i] = ...
            self.generic_visit(node)
            self.record("mutate", base_name(node))

    def visit_Assign(self, node):
        self.visit(node.value)
        for target in node.targets:
            self.target(target)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)
        self.target(node.target)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            self.record("load", node.target.id)
            self.visit(node.value)
            self.record("store", node.target.id)
        else:
            self.visit(node.value)
            self.target(node.target)

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        self.target(node.target)

    def visit_For(self, node):
        self.effects.resources.add("<rng>")  # a loop over a DataLoader draws from the random state
        self.visit(node.iter)
        self.target(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_With(self, node):
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self.target(item.optional_vars)
        for statement in node.body:
            self.visit(statement)

    def visit_Import(self, node):
        for name in imported_names(node):
            self.record("store", name)

    visit_ImportFrom = visit_Import

    def visit_Delete(self, node):
        for target in node.targets:
            self.target(target)

    def visit_ExceptHandler(self, node):
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self.record("store", node.name)
        for statement in node.body:
            self.visit(statement)

    def visit_FunctionDef(self, node):
        for expression in [*node.decorator_list, *node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(expression)
        before = len(self.effects.events)
        self.local.append(function_locals(node))
        for statement in node.body:
            self.visit(statement)
        self.local.pop()
        self.effects.defines[node.name] = {name for _, name, _ in self.effects.events[before:]}
        self.record("store", node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        for expression in [*node.args.defaults, *(d for d in node.args.kw_defaults if d)]:
            self.visit(expression)
        self.local.append(function_locals(node))
        self.visit(node.body)
        self.local.pop()

    def visit_ClassDef(self, node):
        for expression in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(expression)
        self.local.append(scope_binds(node.body))
        for statement in node.body:
            self.visit(statement)
        self.local.pop()
        self.record("store", node.name)

    def comprehension(self, node, *parts):
        self.local.append(set().union(*(binding_names(g.target) for g in node.generators)))
        for generator in node.generators:
            self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)
        for part in parts:
            self.visit(part)
        self.local.pop()

    def visit_ListComp(self, node):
        self.comprehension(node, node.elt)

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self.comprehension(node, node.key, node.value)

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if isinstance(func, ast.Attribute):
            base = base_name(func.value)
            if base not in self.modules:
                self.record("method", base, func.attr)
            if base in ("plt", "pyplot", "matplotlib"):
                self.effects.resources.add("<plt>")
        elif isinstance(func, ast.Name):
            self.record("call", func.id)
            if func.id[:1].isupper():  # a class built: layers draw their initial weights
                self.effects.resources.add("<rng>")
        if called in RNG_CALLS:
            self.effects.resources.add("<rng>")
        if called in FILE_CALLS or any(k.arg == "download" for k in node.keywords):
            self.effects.resources.add("<fs>")
        if called in PLOT_CALLS:
            self.effects.resources.add("<plt>")
        if called not in PURE_CALLS:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                self.record("argument", base_name(argument.value if isinstance(argument, ast.Starred) else
                                                  argument), called)


def effects_of(tree: ast.Module, modules: set[str] = frozenset()) -> Effects:
    flow = _Flow(set(modules))
    for statement in tree.body:
        flow.visit(statement)
    return flow.effects


def module_names(notebook: dict) -> set[str]:
    """Names bound only by ``import x`` / ``import x as y`` (modules, whose functions do not change them)."""
    modules, other = set(), set()
    for cell in notebook.get("cells", []):
        tree = parse(mask(source_of(cell))) if cell.get("cell_type") == "code" else None
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                modules |= imported_names(node)
            elif isinstance(node, ast.ImportFrom):
                names = imported_names(node)
                modules |= {n for n in names if n in ("nn", "F", "optim", "plt", "np", "torch", "tc", "tf")}
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                other.add(node.id)
    return modules - other


def idempotent(effects: Effects) -> bool:
    """Whether running the cell twice leaves every name as running it once did: no name is read (or changed in
    place) before the cell binds it and bound by it, no name from earlier cells is changed in place (items,
    attributes, ``+=``, ``append``...). Training a model of an earlier cell further (``optimizer.step()``) is
    allowed: it is what re-running a training cell does."""
    first_store: dict[str, int] = {}
    for index, (kind, name, _) in enumerate(effects.events):
        if kind == "store":
            first_store.setdefault(name, index)
    for index, (kind, name, detail) in enumerate(effects.events):
        if name in first_store and index > first_store[name]:
            continue
        if kind == "load" and name in first_store:
            return False
        if kind == "mutate":
            return False
        if kind == "method" and (detail in MUTATING_METHODS or detail.endswith("_")):
            return False
    return True
