"""Notebooks on the trusted side: found, validated and cut into problems; never executed here.

Validation reads JSON only. Problems are found by the headings and opening
words students use ("## Problem N", "Problem N.M ...", "Problem N (c) Solution",
"**Problem N.M(b)**", "### 1(d)", "Part (d) of Problem 1", "Bonus": see
``headings``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .headings import line_markers, markers, plain, worded
from .prose_numbers import Written, numbers_written
from .submission import Submission

NOTEBOOK_BYTES = 64 * 1024 * 1024  # a notebook with its plots is a few MB; this leaves room for many
NOTEBOOK_CELLS = 5000  # cells: a long homework has a few hundred


def code_cells(path: Path) -> tuple[list[str], str | None]:
    """The sources of a notebook's code cells, read as JSON within the bounds above, and a note when it cannot be
    read (then no cells)."""
    size = path.stat().st_size
    if size > NOTEBOOK_BYTES:
        return [], f"{path.name}: skipped, {size / 2**20:.0f} MB is over the limit of {NOTEBOOK_BYTES >> 20} MB"
    try:
        cells = json.loads(path.read_bytes().decode("utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError) as error:  # UnicodeDecodeError is a ValueError
        return [], f"{path.name}: skipped, not a readable notebook ({type(error).__name__})"
    if not isinstance(cells, list) or len(cells) > NOTEBOOK_CELLS:
        return [], f"{path.name}: skipped, not a list of at most {NOTEBOOK_CELLS} cells"
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
            if isinstance(source, str):
                sources.append(source)
    return sources, None


class NotebookProblem(ValueError):
    """A file named .ipynb that is not a readable notebook; the message says why."""


def find_notebook(submission: Submission) -> str | None:
    """The notebook to run: the first .ipynb at the top of the submission, by name."""
    notebooks = sorted(name for name in submission.files() if name.endswith(".ipynb") and "/" not in name)
    return notebooks[0] if notebooks else None


def validate(path: Path):
    """The notebook as an nbformat node; ``NotebookProblem`` naming the problem if it is not one."""
    import nbformat

    size = path.stat().st_size
    if size > NOTEBOOK_BYTES:
        raise NotebookProblem(f"{path.name} is {size / 2**20:.0f} MB, over the grader's limit of "
                              f"{NOTEBOOK_BYTES // 2**20} MB for a notebook; clear its outputs "
                              "(Edit > Clear all outputs) and save it again")
    raw = path.read_bytes()
    if not raw.strip():
        raise NotebookProblem(f"{path.name} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotebookProblem(f"{path.name} is not UTF-8 text ({error.reason} at byte {error.start}), so it is "
                              "not a notebook; save it again from Jupyter or Colab") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookProblem(f"{path.name} is not valid JSON ({error.msg} at line {error.lineno}, column "
                              f"{error.colno}); download it again with File > Download > .ipynb") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise NotebookProblem(f"{path.name} is JSON but not a notebook (it has no 'cells')")
    if isinstance(data["cells"], list) and len(data["cells"]) > NOTEBOOK_CELLS:
        raise NotebookProblem(f"{path.name} has {len(data['cells']):,} cells, over the grader's limit of "
                              f"{NOTEBOOK_CELLS:,}; a homework notebook has a few hundred at most")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 - nbformat raises several kinds; the message is what matters
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise NotebookProblem(f"{path.name} is not a valid notebook ({first})") from None
    return notebook


def normalise(problem: str) -> str:
    """'2 (c)' -> '2c', '5.1' -> '5.1', 'Bonus' -> 'bonus'."""
    return re.sub(r"[\s()]", "", problem).lower()


def _marked_cells(notebook):
    """``(index, cell, markers)`` for every cell, read in order so that a task is read within its exercise. In a
    notebook whose headings name problems in words, a numbered heading with a title is a step, not a problem."""
    titled = not any(worded(line) for cell in notebook.cells if cell.cell_type == "markdown"
                     for line in cell.source.splitlines())
    within = (None, None)
    for index, cell in enumerate(notebook.cells):
        found = []
        if cell.cell_type == "markdown":
            found, within = markers(cell.source, within, titled)
        yield index, cell, [normalise(key) for key in found]


def _parents(key: str) -> list[str]:
    """'4.2b' -> ['4.2', '4'], '3.1' -> ['3'], '2c' -> ['2']."""
    parents = []
    while True:
        shorter = key[:-1] if key[-1:].isalpha() and key != "bonus" else key.rsplit(".", 1)[0] if "." in key else ""
        if not shorter or shorter == key:
            return parents
        parents.append(shorter)
        key = shorter


@dataclass
class Section:
    problem: str
    cells: list = field(default_factory=list)
    whole: str | None = None  # set when these are the cells of the whole problem, which names no part


def problem_sections(notebook, problems: list[str]) -> dict[str, Section]:
    """The cells that answer each problem: from the cell that names it to the next one naming another.

    A marker for a whole problem ("Problem N") followed by one for a part ("N.1") counts for the part; a heading
    naming several parts ("Problem 3 (a) (b)") counts for each.
    The cells under a whole problem that names none of its parts are shown once, under its first part.
    """
    wanted = {normalise(p): p for p in problems}
    sections: dict[str, Section] = {}
    current: list[str] = []
    for _, cell, found in _marked_cells(notebook):
        if found:
            current = found
        for key in current:
            sections.setdefault(key, Section(key)).cells.append(cell)
    answers, shown = {}, set()
    for key, problem in wanted.items():
        if key in sections:
            answers[problem] = sections[key]
            continue
        whole = next((parent for parent in _parents(key) if parent in sections), None)
        if whole is not None and whole not in shown:
            shown.add(whole)  # once, under the first part that has no section of its own
            answers[problem] = Section(problem, sections[whole].cells, whole=whole)
    return answers


def _segments(notebook) -> list[tuple[tuple[str, ...], int, int]]:
    """Runs of cells under the same markers: ``(keys, start, end)``."""
    segments: list[tuple[tuple[str, ...], int, int]] = []
    current, start = None, 0
    for index, _, found in _marked_cells(notebook):
        if found and tuple(found) != current:
            if current is not None:
                segments.append((current, start, index))
            current, start = tuple(found), index
    if current is not None:
        segments.append((current, start, len(notebook.cells)))
    return segments


def problem_windows(notebook, problems: list[str]) -> dict[str, tuple[int, int]]:
    """The cells of each problem as ``(start, end)`` indices of ``notebook.cells``: from the first cell that
    names it to the end of the last run of cells under a heading naming it. A problem named only through its
    parts ("2a", "2b") spans them; a part named only through its whole problem takes the whole problem's cells."""
    segments = _segments(notebook)
    windows = {}
    for problem in problems:
        key = normalise(problem)
        own = [s for s in segments if key in s[0]]
        parts = [s for s in segments if any(key in _parents(k) for k in s[0])]
        whole = [s for s in segments if any(k in _parents(key) for k in s[0])]
        found = own or parts or whole
        if found:
            windows[problem] = (min(s[1] for s in found), max(s[2] for s in found))
    return windows


def headings_found(notebook) -> bool:
    """Whether any markdown cell names a problem."""
    return bool(_segments(notebook))


def text_answer(notebook, problem: str) -> list[Written] | None:
    """The numbers written in the markdown under the problem's own heading (candidates, see ``prose_numbers``);
    None when the notebook has no heading for it. The problem's own label ("Problem 1 (a)") is not a number
    written."""
    section = problem_sections(notebook, [problem]).get(problem)
    if section is None or section.whole:
        return None
    lines = []
    for cell in section.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            keys, _ = line_markers(line, (None, None))
            lines.append(_after_label(line) if keys else line)
    return numbers_written(lines)


def _after_label(line: str) -> str:
    """What a heading line says after its problem label: "**Problem 1 (a)**: 64" -> ": 64"."""
    text = plain(line)
    match = re.match(r"^.*?\d+(?:\.\d+)*(?:\s*(?:part\s*)?\(?\s*[a-z]\s*\)|\.[a-z]\b|[a-z]\b)*\s*(?:solution\b)?",
                     text, re.IGNORECASE)
    return text[match.end():] if match else ""
