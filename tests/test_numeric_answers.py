"""Numeric answers as students write them: computed, or rounded by hand to four significant digits."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from autograder.grading.runner import grade
from reference.cpsc663_ex2.backprop import answer
from tests.conftest import ROOT

GOOD = ROOT / "submissions" / "cpsc663-ex2" / "sequential-style"
NAMES = ("delta3", "delta2", "dC_dW3", "dC_db3", "dC_dW2", "dC_db2")


def rounded_answers(digits: int) -> str:
    """answers.py with the answer key's 3.3 values rounded to `digits` significant digits."""
    values = answer().as_dict()
    lines = [f"{name} = {np.vectorize(lambda v: float(f'{v:.{digits}g}'))(values[name]).tolist()!r}"
             for name in NAMES]
    lines += [f"output_size_{case} = {size}" for case, size in zip("abcd", ("(49, 49)", "(9, 9)", "(23, 23)",
                                                                           "(49, 49)"), strict=True)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def submission(tmp_path):
    target = tmp_path / "student"
    shutil.copytree(GOOD, target)
    return target


def test_answers_rounded_to_four_significant_digits_pass(submission):
    (submission / "answers.py").write_text(rounded_answers(4))
    result = grade(submission, keyword="answers")
    assert len(result.checks) == 10
    assert all(c.passed for c in result.checks), [c.feedback for c in result.failed()]


def test_answers_rounded_to_two_significant_digits_fail_with_the_tolerance_named(submission):
    (submission / "answers.py").write_text(rounded_answers(2))
    failed = {c.check_id: c.feedback for c in grade(submission, keyword="3.3").failed()}
    assert "3.3/answers/dC_dW2" in failed  # 0.0054 for 0.005395: off by 0.1 %
    assert "within a relative tolerance of 0.001" in failed["3.3/answers/dC_dW2"]
