"""The results of grading, computed first and rendered afterwards (terminal, JSON, JUnit, CSV, HTML)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Verdict:
    """What a check decided: passed or not, and what to tell the student."""

    passed: bool
    feedback: str


@dataclass(frozen=True)
class CheckResult:
    check_id: str  # stable: "2/Net/code_size"
    title: str  # for people: "Net encodes to a 2-D code"
    problem: str
    max_points: float
    points: float
    passed: bool
    feedback: str
    visibility: str = "visible"  # Gradescope's: visible, hidden, after_due_date, after_published
    stage: str = ""
    seconds: float = 0.0
    status: str = ""  # passed, failed, or "not gradable" (this machine lacks what it needs: counts neither way)

    def __post_init__(self):
        if not self.status:
            object.__setattr__(self, "status", "passed" if self.passed else "failed")

    @property
    def gradable(self) -> bool:
        return self.status != "not gradable"


@dataclass
class SubmissionResult:
    submission: str  # a name for people: the folder or archive name
    assignment: str | None
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things the student should know that cost nothing
    error: str | None = None  # the submission could not be graded at all (unreadable archive, ...)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    staff_log: list[str] = field(default_factory=list)  # the grader's own failures, for instructors only
    manual: list[dict] = field(default_factory=list)  # problems graded by hand: {"problem", "title", "points"}
    # What the feedback page draws (report/html.py): small plain data measured on the trusted side
    # (grading/figures.py). Kept in the records, never in Gradescope's JSON but through the page.
    figures: list[dict] = field(default_factory=list)
    # For the staff: where each second went (stage -> {"wall", "worker_cpu", "grader_cpu", "count"}) and what the
    # worker was given (threads, OpenMP's wait policy, its CPU quota, its priority).
    profile: dict[str, dict] = field(default_factory=dict)
    worker: dict = field(default_factory=dict)
    # A partial run: which checks were graded ("-k 5.4/AE", "public checks only"); None when every one was.
    # Every file written about the result says so: its score is not the submission's.
    selection: str | None = None

    @property
    def partial_note(self) -> str | None:
        return (f"partial run ({self.selection}): only the selected checks were graded, so this score is not the "
                "submission's") if self.selection else None

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        """The points of the checks graded here (not those this machine could not grade, nor manual ones)."""
        return round(sum(c.max_points for c in self.checks if c.gradable), 4)

    @property
    def not_gradable_points(self) -> float:
        return round(sum(c.max_points for c in self.checks if not c.gradable), 4)

    @property
    def manual_points(self) -> float:
        return round(sum(p["points"] for p in self.manual), 4)

    def failed(self) -> list[CheckResult]:
        """The checks that failed (not those that could not be graded here)."""
        return [c for c in self.checks if not c.passed and c.gradable]

    def not_gradable(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.gradable]

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        """The result ``as_dict`` gave (its derived totals recomputed, not read)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in data.items() if k in fields}
        check_fields = {f.name for f in dataclasses.fields(CheckResult)}
        kept["checks"] = [CheckResult(**{k: v for k, v in c.items() if k in check_fields})
                          for c in data.get("checks", [])]
        return cls(**kept)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(score=self.score, max_score=self.max_score, not_gradable_points=self.not_gradable_points,
                    manual_points=self.manual_points)
        return data


def submission_name(path) -> str:
    """A submission's name for people and for the files written about it: its folder or archive name, made safe
    (a name a student chose may hold bytes no encoder takes, control characters, a terminal's escapes)."""
    from pathlib import Path

    from .common.protocol import safe_text

    return safe_text(Path(path).name or Path(path).resolve().name)  # ".": the folder's own name

