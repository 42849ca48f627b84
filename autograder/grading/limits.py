"""The time and size limits of grading one submission. Budgets of training are steps (recipes), never these."""

SUBMISSION_SECONDS = 900  # all worker calls of one submission together
MAX_WORKER_STARTS = 6  # a submission that kills its worker more often than this is not restarted again
NOTEBOOK_SECONDS = 600  # all cells of a notebook together
NOTEBOOK_CELL_SECONDS = 120  # one cell
NOTEBOOK_STEP_BUDGET = 10  # optimizer steps (torch) or batches per fit (Keras) a notebook cell may take
IMPORT_SECONDS = 60  # the worker stops a file that is still importing after this long, keeping its definitions
TIMEOUT_CALL = 30
TIMEOUT_TRAIN_BASE = 60
TIMEOUT_TRAIN_PER_STEP = 0.25
TRUSTED_WEIGHTS_BYTES = 256 * 1024 * 1024  # the trusted side reads weight files up to this size


def import_timeout() -> float:
    """The hard limit on importing a file: the worker's own soft limit, plus time to report."""
    return IMPORT_SECONDS + 30
