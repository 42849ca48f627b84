"""Make the student starter of a solution file: solution blocks become TODOs.

A block is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
(markers included); it is replaced, at the same indentation, by a TODO comment
and ``raise NotImplementedError``, so the starter imports and runs up to the
part the student writes.
"""

from __future__ import annotations

import re
from pathlib import Path

from .spec import Assignment

_BLOCK = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n", re.M | re.S)


def make_starter(solution: str) -> str:
    def todo(match: re.Match) -> str:
        indent = match["indent"]
        return (
            f"{indent}# TODO: write this part (see the docstring above).\n"
            f'{indent}raise NotImplementedError("this part of the problem is yours to write")\n'
        )

    return _BLOCK.sub(todo, solution)


def starter_files(assignment: Assignment) -> dict[Path, str]:
    """Starter path -> the text it should have, for every solution file with solution blocks."""
    wanted = {}
    for path in sorted(assignment.paths["solution"].glob("*.py")):
        text = path.read_text()
        if _BLOCK.search(text):
            wanted[assignment.paths["starter"] / path.name] = make_starter(text)
    return wanted


def write_starters(assignment: Assignment) -> list[Path]:
    written = []
    for path, text in starter_files(assignment).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def stale_starters(assignment: Assignment) -> list[Path]:
    """Starter files that are missing or differ from what the solution makes."""
    return [p for p, text in starter_files(assignment).items() if not p.is_file() or p.read_text() != text]
