"""Which paths are submissions: a folder of student files is one; a folder of such folders or zips is a class."""

from __future__ import annotations

from pathlib import Path

from ..submission import CLUTTER, STUDENT_SUFFIXES


def looks_like_one_submission(folder: Path) -> bool:
    """A folder with student files at its top (or in one wrapping folder) is one submission."""
    children = [c for c in folder.iterdir() if c.name not in CLUTTER and not c.name.startswith(".")]
    if any(c.is_file() and c.suffix in STUDENT_SUFFIXES - {".zip"} for c in children):
        return True
    dirs = [c for c in children if c.is_dir()]
    return len(children) == 1 and len(dirs) == 1 and looks_like_one_submission(dirs[0])


def expand(paths: list[str]) -> list[Path]:
    found = []
    for text in paths:
        path = Path(text)
        if path.is_dir() and not looks_like_one_submission(path):
            found.extend(sorted(c for c in path.iterdir() if not c.name.startswith(".") and c.name not in CLUTTER
                                and (c.is_dir() or c.suffix.lower() == ".zip" or c.is_symlink())))
        else:
            found.append(path)
    return found
