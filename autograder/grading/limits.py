"""The time and size limits of grading one submission. Budgets of training are steps (recipes), never these.

Every time limit is seconds of computing, counted as the worker's CPU time per thread (the wall clock, several
times longer, is only a safety net: ``host/client.py``). An assignment may set its own (``[limits]`` in its
``assignment.toml``, ``limit_seconds`` of a subject or a recipe); these are the defaults.
"""

from ..common import settings

SUBMISSION_SECONDS = 900  # all worker calls of one submission together
MAX_WORKER_STARTS = 6  # a submission that kills its worker more often than this is not restarted again
# the notebook's limits: all cells together, one cell, and optimizer steps (torch) or batches per fit (Keras) a
# cell may take; the defaults the worker knows too (common/settings.py)
NOTEBOOK_SECONDS = settings.NOTEBOOK_SECONDS
NOTEBOOK_CELL_SECONDS = settings.CELL_SECONDS
NOTEBOOK_STEP_BUDGET = settings.STEP_BUDGET
IMPORT_SECONDS = 60  # the worker stops a file that is still importing after this long, keeping its definitions
TIMEOUT_CALL = 30
TIMEOUT_TRAIN_BASE = 60
TIMEOUT_TRAIN_PER_STEP = 0.25
TRUSTED_WEIGHTS_BYTES = 256 * 1024 * 1024  # the trusted side reads weight files up to this size


def import_timeout(assignment=None) -> float:
    """The hard limit on importing a file: the worker's own soft limit, plus time to report."""
    return (import_seconds(assignment) if assignment is not None else IMPORT_SECONDS) + 30


def call_seconds(assignment, subject=None) -> float:
    if subject is not None and getattr(subject, "limit_seconds", None):
        return subject.limit_seconds
    return assignment.limits.call or TIMEOUT_CALL


def import_seconds(assignment) -> float:
    return assignment.limits.imports or IMPORT_SECONDS


def notebook_seconds(assignment) -> float:
    return assignment.limits.notebook or NOTEBOOK_SECONDS


def cell_seconds(assignment) -> float:
    return assignment.limits.notebook_cell or NOTEBOOK_CELL_SECONDS


def submission_seconds(assignment) -> float:
    return assignment.limits.submission or SUBMISSION_SECONDS


def training_seconds(assignment, recipe) -> float:
    """A brief training's limit: the recipe's own, else base + per step x its steps."""
    if recipe.limit_seconds:
        return recipe.limit_seconds
    base = assignment.limits.training_base or TIMEOUT_TRAIN_BASE
    per_step = assignment.limits.training_per_step or TIMEOUT_TRAIN_PER_STEP
    return base + per_step * recipe.steps
