"""The code of a submission, as text: its ``.py`` files and its notebooks' code cells.

A notebook is read as JSON and never run (``notebooks.code_cells``: one over ``NOTEBOOK_BYTES`` or
``NOTEBOOK_CELLS`` is skipped with a note). IPython's ``%magic`` and ``!shell`` lines
are kept as comments, so that the tokenizer reads the rest as Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..notebooks import code_cells
from ..submission import CLUTTER, regular_files

CODE_FILE_BYTES = 1024 * 1024  # one .py file: a homework's are a few kB; bigger is data, not code
_MAGIC = re.compile(r"^(\s*)([%!])", re.M)


@dataclass(frozen=True)
class CodePart:
    """One piece of a submission's code: a ``.py`` file, or one code cell of a notebook."""

    origin: str  # for people: "prob5_AE.py", "chen.ipynb, cell 7"
    text: str


@dataclass
class SubmissionCode:
    name: str
    parts: list[CodePart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def document(self) -> str:
        """Every part, each under a comment naming where it comes from: the text that is compared."""
        return "".join(f"# ---- {part.origin}\n{part.text.rstrip()}\n\n" for part in self.parts)


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def code_of_folder(folder: Path, name: str) -> SubmissionCode:
    """The code under ``folder`` (a submission's root, or a starter folder), files in name order; ``folder``
    may also be a single ``.py`` or ``.ipynb`` file."""
    code = SubmissionCode(name)
    folder = Path(folder)
    paths = [folder] if folder.is_file() else regular_files(folder)
    for path in paths:
        relative = path.relative_to(folder) if path != folder else Path(path.name)
        if CLUTTER & set(relative.parts):
            continue
        if path.suffix == ".py":
            if path.stat().st_size > CODE_FILE_BYTES:
                code.notes.append(f"{relative}: skipped, over {CODE_FILE_BYTES >> 10} kB")
                continue
            text = _normalised(path.read_bytes().decode("utf-8", errors="replace"))
            code.parts.append(CodePart(str(relative), text))
        elif path.suffix == ".ipynb":
            cells, note = code_cells(path)
            code.notes.extend([note] if note else [])
            code.parts.extend(CodePart(f"{relative}, code cell {i}", _MAGIC.sub(r"\1# \2", _normalised(text)))
                              for i, text in enumerate(cells, 1) if text.strip())
    return code
