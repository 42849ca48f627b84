"""The bundled example submissions graded against the grades their ``expected.toml`` gives them.

A family of examples is a folder of submissions with an ``expected.toml``: the
assignment, its maximum score, and for each example the checks that must fail
(a trailing ``/*`` matches every check of a subject) with words their feedback
must contain; every other check must pass. ``autograder examples`` grades every
family (the project's main job) and says, for each example, whether it got
its grade.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..results import SubmissionResult


@dataclass(frozen=True)
class Family:
    folder: Path
    assignment: str
    max_score: float
    examples: dict[str, dict]  # name -> {"about", "fails"}


def families(root: Path) -> list[Family]:
    """Every folder of examples under ``root`` (an adversarial corpus, ``corpus = "attacks"``, is left out)."""
    found = []
    for expected in sorted(Path(root).glob("*/expected.toml")):
        data = tomllib.loads(expected.read_text())
        if data.get("corpus") == "attacks":
            continue
        examples = {name: entry for name, entry in data.items() if isinstance(entry, dict)}
        assignment = data["assignment"]  # an id, or the path of an assignment.toml from expected.toml's folder
        if assignment.endswith(".toml"):
            assignment = str((expected.parent / assignment).resolve())
        found.append(Family(expected.parent, assignment, float(data["max_score"]), examples))
    return found


def _matches(check_id: str, pattern: str) -> bool:
    """``*`` stands for any text; everything else, brackets of sweep arguments included, for itself."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), check_id) is not None


def expected_failures(result: SubmissionResult, fails: dict) -> dict[str, str]:
    """check id -> words its feedback must contain, with ``subject/*`` patterns expanded over the results."""
    wanted = {}
    for pattern, words in fails.items():
        matched = [c.check_id for c in result.checks if _matches(c.check_id, pattern)]
        if not matched:
            raise LookupError(f"no check matches {pattern!r}")
        wanted.update(dict.fromkeys(matched, words))
    return wanted


def differences(result: SubmissionResult, family: Family, fails: dict) -> list[str]:
    """How the grade differs from the expected one, in words; empty when it is exactly the expected grade."""
    if result.error:
        return [f"not graded: {result.error}"]
    problems = []
    if result.assignment != family.assignment:
        problems.append(f"graded as {result.assignment}, not {family.assignment}")
    try:
        wanted = expected_failures(result, fails)
    except LookupError as missing:
        return [str(missing)]
    failed = {c.check_id: c.feedback for c in result.failed()}
    wanted = {check: words for check, words in wanted.items()  # where its data is missing, it cannot fail here
              if check not in {c.check_id for c in result.not_gradable()}}
    problems += [f"unexpected failure {check}: {failed[check]}" for check in sorted(set(failed) - set(wanted))]
    problems += [f"unexpected pass {check}" for check in sorted(set(wanted) - set(failed))]
    problems += [f"{check}: {words!r} not in {failed[check]!r}" for check, words in wanted.items()
                 if check in failed and words not in failed[check]]
    if result.max_score + result.not_gradable_points != family.max_score:
        problems.append(f"out of {result.max_score + result.not_gradable_points:g} points, not {family.max_score:g}")
    return problems
