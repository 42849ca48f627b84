"""``autograder student-kit ID --out DIR``: write an assignment's public checks for students, as files.

    DIR/README.md               how students use it
    DIR/<id>/assignment.toml    the public checks (public.py says what is kept)
    DIR/<id>/written.toml       the written problems and their points (no model answers, no rubrics)
    DIR/<id>/kit.toml           the automatic points left to the instructor, by kind (no check of theirs)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..grading.registry import load_assignment, validated
from ..spec import SpecError, available_assignments, parse_assignment
from . import toml_text
from .public import WRITTEN, public_part

MANIFEST = "kit.toml"

ASSIGNMENT_HEADER = """\
The student self-check kit of {id}, written by `autograder student-kit {id}`.
The assignment's public checks, as data the grader reads: `autograder check --kit DIR`.
No thresholds, expected answers, hidden checks or solutions: those stay with the
instructor, whose grading adds the points listed in kit.toml and written.toml.
"""
MANIFEST_HEADER = """\
What the instructor's grading adds to this kit's checks: automatic points, by kind
(the checks themselves are not in the kit). Written answers: written.toml.
"""
WRITTEN_HEADER = "The written problems of {id}, graded by hand: their points (the questions are in the handout)."
README = """\
# Student self-check kit

Install the grader once (it holds no answer key), then check your work before
you submit it, from the folder that holds your files and this `{kit}` folder:

    python3 -m pip install {kit}/{wheel}
    autograder check --kit {kit}

(or put this folder beside your work, or inside it, as `kit/`: `autograder check`
finds it there). It runs the public checks only: files, imports, classes, layer
lists, shapes, parameter counts, and a short training smoke test (the model's
error falls and stays finite). It never shows the thresholds, the expected
answers or the hidden checks: its last line says how many points your
instructor grades besides (hidden checks, trained models against the answer
key's bars, written answers). Passing here is not the grade.
"""


@dataclass(frozen=True)
class WrittenKit:
    folder: Path
    checked_points: float  # what the kit checks
    instructor: dict[str, float]  # what the instructor's grading adds, by kind (written answers included)

    def describe(self) -> str:
        left = ", ".join(f"{points:g} for {kind}" for kind, points in self.instructor.items())
        return (f"wrote {self.folder}: {self.checked_points:g} points of public checks; the instructor grades "
                f"{sum(self.instructor.values()):g} more ({left or 'none'})")


def is_kit(folder: Path) -> bool:
    """A kit's assignment folder (or a kit holding some)."""
    folder = Path(folder)
    return (folder / MANIFEST).is_file() or any(folder.glob(f"*/{MANIFEST}"))


def answer_key_toml(assignment_id: str) -> Path:
    """The answer key's assignment.toml: by id (under ``reference/``) or by path."""
    if assignment_id.endswith(".toml") and Path(assignment_id).is_file():
        return Path(assignment_id)
    load_assignment(assignment_id)  # SpecError naming the known ones if unknown
    return available_assignments()[assignment_id]


def written_problems(assignment) -> list[dict]:
    """The written problems with points: id, title and points only."""
    path = assignment.paths.get("written")
    if path is None or not path.is_file():
        return []
    return [{"id": str(p["id"]), "title": p.get("title", ""), "points": p["points"]}
            for p in tomllib.loads(path.read_text()).get("problems", []) if p.get("points")]


def write_kit(assignment_id: str, out: Path) -> WrittenKit:
    """Write the kit of one assignment under ``out``; it is read back and its points reconciled before this
    returns."""
    toml = answer_key_toml(assignment_id)
    assignment = validated(parse_assignment(toml))
    if is_kit(assignment.root):
        raise SpecError(f"{toml} is a student kit already: write kits from the answer key")
    part = public_part(assignment, tomllib.loads(toml.read_text()))
    written = written_problems(assignment)
    folder = Path(out) / assignment.id
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(part.data)
    if written:
        head = {k: v for k, v in data.items() if not isinstance(v, dict)}  # id, title...: then the file's name
        data = {**head, "written": "written.toml", **{k: v for k, v in data.items() if k not in head}}
        (folder / "written.toml").write_text(toml_text.dumps({"problems": written},
                                                             WRITTEN_HEADER.format(id=assignment.id)))
    (folder / "assignment.toml").write_text(toml_text.dumps(data, ASSIGNMENT_HEADER.format(id=assignment.id)))
    (folder / MANIFEST).write_text(toml_text.dumps({"assignment": assignment.id, "instructor": part.instructor},
                                                   MANIFEST_HEADER))
    wheel = _student_wheel(Path(out))
    (Path(out) / "README.md").write_text(README.format(kit=Path(out).name or "kit", wheel=wheel))
    checked = _reconciled(assignment, validated(parse_assignment(folder / "assignment.toml")), part.instructor)
    instructor = dict(part.instructor)
    if written:
        instructor[WRITTEN] = float(sum(p["points"] for p in written))
    return WrittenKit(folder, checked, instructor)


def _student_wheel(out: Path) -> str:
    """The wheel students install, built into the kit (its file name), or the package's name when it cannot be
    built here (an installation without a source checkout): then the instructor hands one out."""
    from .wheel import WheelError, build_student_wheel

    existing = sorted(out.glob("autograder-*.whl"))
    if existing:
        return existing[-1].name
    try:
        return build_student_wheel(out).name
    except WheelError as error:
        print(f"autograder student-kit: {error}; students need the grader without its answer key "
              "(AUTOGRADER_WITHOUT_ANSWER_KEY=1 pip wheel --no-deps .)")
        return "autograder-*.whl"


def _reconciled(assignment, kit, instructor: dict[str, float]) -> float:
    """The kit's points; ValueError unless they and the instructor's make the answer key's automatic points."""
    from ..grading.plan import plan_checks

    total = sum(case.points for case in plan_checks(assignment))
    checked = sum(case.points for case in plan_checks(kit))
    if abs(total - checked - sum(instructor.values())) > 1e-9:
        raise ValueError(f"{assignment.id}: the kit checks {checked:g} points and leaves {sum(instructor.values()):g}"
                         f" to the instructor, but the answer key has {total:g}")
    return checked
