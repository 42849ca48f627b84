"""One pytest test per planned check of the submission given with ``--submission``.

The checks are parametrized from the assignment's spec by the autograder
plugin; each test runs its check in the shared grading session and fails with
the student-facing message only.
"""

import pytest

from autograder.grading.runner import run_check


def test_check(check_case, grading_context, record_check):
    result = run_check(grading_context, check_case)
    record_check(result)
    if not result.passed:
        pytest.fail(result.feedback, pytrace=False)
