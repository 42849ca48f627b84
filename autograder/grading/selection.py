"""``-k EXPR``: choosing checks by words of their ids, with pytest's own expression language.

``autograder grade -k "Net and not training"`` selects the checks that
``pytest --pyargs autograder.suite -k "Net and not training"`` selects: a word
matches when it is part of the check's id, ignoring case.
"""

from __future__ import annotations

from _pytest.mark.expression import Expression


def matches(keyword: str, check_id: str) -> bool:
    names = f"test_check[{check_id}] test_submission.py suite".lower()
    return Expression.compile(keyword).evaluate(lambda word, **_: word.lower() in names)
