"""``autograder lint-assignment PATH``: an assignment's mistakes found by its author, each with its key and
line, before any student is graded with it.

Loading already refuses unknown keys, check types, options, recipes, data sets and layers (``spec/`` and
``registry.validate_checks``). This adds what needs the solution: the files, weight files and written
answers an assignment names are where it says, and the solution, graded with the assignment, gets every
point this machine can grade (a ``parts`` attribute that does not exist, or a layer list that does not match
the solution, fails the instructor's own solution here, with the check that says so).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..spec import Assignment, SpecError

KEY_IN_MESSAGE = re.compile(r"\b(?:models|files|recipes|data|answers|notebook|limits|problems|analytic|calibration)"
                            r"\.[^\s:]+")


@dataclass(frozen=True)
class Problem:
    where: str  # the key, e.g. models.AE.checks.layer_list
    message: str
    line: int | None = None  # in assignment.toml, where it could be found

    def render(self, toml: Path) -> str:
        place = f"{toml}:{self.line}" if self.line else str(toml)
        return f"{place}: {self.where}: {self.message}"


def line_of(text: str, where: str) -> int | None:
    """The line of ``where`` (``models.AE.checks.code_size``, ``files."model.py"``) in the TOML text: the line of
    its last key within its table, else of its table's header; None when neither is found."""
    parts = [p.strip('"') for p in re.findall(r'"[^"]*"|[^.\[\]]+', where.split(":")[-1].strip())]
    lines = text.splitlines()
    for cut in range(len(parts), 0, -1):
        header = ".".join(f'"{p}"' if not re.fullmatch(r"[\w-]+", p) else p for p in parts[:cut])
        start = next((i for i, line in enumerate(lines) if line.strip() == f"[{header}]"), None)
        if start is None:
            continue
        rest = parts[cut:]
        if not rest:
            return start + 1
        key = re.compile(rf"^\s*\"?{re.escape(rest[0])}\"?\s*=")
        for index in range(start + 1, len(lines)):
            if lines[index].startswith("["):
                break
            if key.match(lines[index]):
                return index + 1
        return start + 1
    return None


def _files(assignment: Assignment) -> list[Problem]:
    solution = assignment.paths.get("solution")
    if solution is None or not solution.is_dir():
        return [Problem("solution", f"the solution folder {solution} does not exist" if solution else
                        "no solution is declared, so nothing can be calibrated or checked against it")]
    problems = []
    notebooks = "\n".join(path.read_text(errors="replace") for path in solution.glob("*.ipynb"))
    for subject in assignment.subjects.values():
        # a subject the files do not hold may be the notebook's (where its source defines the name)
        in_notebook = re.search(rf"(class|def)\s+{re.escape(subject.name)}\b", notebooks)
        if subject.files and not any((solution / f).is_file() for f in subject.files) and not in_notebook:
            problems.append(Problem(f"models.{subject.key}.files", f"none of {', '.join(subject.files)} is in the "
                                                                   f"solution ({solution})"))
        if subject.weights and not any((solution / w).is_file() for w in subject.weights):
            problems.append(Problem(f"models.{subject.key}.weights", f"none of {', '.join(subject.weights)} is in "
                                                                     f"the solution ({solution})"))
    for file in assignment.files:
        if not (solution / file.name).exists():
            problems.append(Problem(f'files."{file.name}"', f"{file.name} is not in the solution ({solution})"))
    return problems


def _written(assignment: Assignment) -> list[Problem]:
    path = assignment.paths.get("written")
    if path is None:
        return []
    if not path.is_file():
        return [Problem("written", f"{path} does not exist")]
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        return [Problem("written", f"{path.name} is not valid TOML: {error}")]
    problems = []
    for index, entry in enumerate(data.get("problems", [])):
        missing = [key for key in ("id", "points", "question", "answer") if key not in entry]
        if missing:
            problems.append(Problem(f"written: problems[{index}]", f"{path.name}: missing {', '.join(missing)}"))
        elif assignment.problems and str(entry["id"]).split(".")[0] not in {p.split(".")[0]
                                                                           for p in assignment.problems}:
            problems.append(Problem(f"written: problems[{index}]", f"{path.name}: problem {entry['id']} is not one "
                                                                   "of the assignment's [problems]"))
    return problems


def _solution_grade(assignment: Assignment, toml: Path, data_dir) -> list[Problem]:
    from .runner import grade

    result = grade(assignment.paths["solution"], assignment_id=str(toml), data_dir=data_dir, device="cpu")
    if result.error:
        return [Problem("solution", f"the solution could not be graded: {result.error}")]
    return [Problem(_key_of(check.check_id), f"the solution fails {check.check_id}: {check.feedback}")
            for check in result.failed()]


def _key_of(check_id: str) -> str:
    """Where a check is declared: ``5.4/AE/code_size`` -> models.AE.checks.code_size (a sweep's variant and a
    file's check likewise)."""
    parts = check_id.split("/")
    if parts[0] == "files" and len(parts) == 3:
        return f'files."{parts[1]}".checks'
    if len(parts) >= 3:
        return f"models.{parts[-2].split('[')[0]}.checks.{parts[-1]}"
    return check_id


def lint(toml: Path, *, data_dir=None, grade_solution: bool = True) -> tuple[list[Problem], str]:
    """The problems found, and the text of assignment.toml (for their lines)."""
    from .registry import load_assignment

    toml = toml / "assignment.toml" if toml.is_dir() else toml
    text = toml.read_text()
    try:
        assignment = load_assignment(str(toml))
    except SpecError as error:
        key, message = KEY_IN_MESSAGE.search(str(error)), str(error)
        if key is None:
            return [Problem("assignment.toml", message)], text
        message = message[key.end():].lstrip(": ") or message  # the key is said once, in front
        return [Problem(key[0], message, line_of(text, key[0]))], text
    problems = _files(assignment) + _written(assignment)
    if grade_solution and not any(p.where == "solution" for p in problems):
        problems += _solution_grade(assignment, toml, data_dir)
    return [Problem(p.where, p.message, p.line or line_of(text, p.where)) for p in problems], text
