"""What a batch is asked to do, as plain data: built by the CLI from its arguments, or by whoever grades."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradingOptions:
    """How each submission is graded: the same for every one of a batch."""

    assignment: str | None = None  # an id or an assignment.toml's path; None: recognised from the files
    data_dir: str | None = None
    device: str = "auto"
    keyword: str | None = None  # only the checks matching this pytest -k expression

    def engine(self) -> dict:
        """The keyword arguments of ``grading.runner.grade`` these stand for."""
        return dict(assignment_id=self.assignment, data_dir=self.data_dir, device=self.device, keyword=self.keyword)


@dataclass(frozen=True)
class ReportOptions:
    """Which files a batch writes besides its results folder."""

    out: str | None = None  # the results folder (a batch's, or one submission's with several files)
    junit: str | None = None  # a JUnit XML file of every check
    results: str | None = None  # one submission: Gradescope's results.json here
    html: str | None = None  # one submission: its feedback page here
    profile: bool = False  # one submission: where its seconds went
    canvas: bool = False  # a partial run's Canvas gradebook, written only when asked for
    similarity: bool = True  # compare the batch's submissions (it flags, never changes a grade)


@dataclass(frozen=True)
class BatchOptions:
    """``autograder grade PATH...``: what to grade, how, with what, and what to write."""

    paths: tuple[str, ...]
    grading: GradingOptions = GradingOptions()
    reports: ReportOptions = ReportOptions()
    jobs: int | None = None  # None: sized to the machine
    force: bool = False  # grade again what an earlier run in the results folder already graded
    executor: str = "local"  # local or ray
    address: str | None = None  # a Ray cluster's


@dataclass(frozen=True)
class ExamplesOptions:
    """``autograder examples``: every family of bundled examples against its expected grades."""

    root: str
    families: tuple[str, ...] = ()  # none: every family under root
    data_dir: str | None = None
    device: str = "auto"
    jobs: int | None = None
    out: str | None = None  # a gradebook of the examples here
    junit: str | None = None
