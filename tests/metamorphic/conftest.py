"""The metamorphic tests' marker: grading every rewrite of every notebook example on its own is long, so those
tests run only when asked for with ``-m metamorphic_full``."""

from __future__ import annotations

import pytest

FULL = "metamorphic_full"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", f"{FULL}: grades every rewrite of every notebook example on its own (long); run with "
                   f"`pytest tests/metamorphic -m {FULL}`")


def pytest_collection_modifyitems(config, items):
    if FULL in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason=f"grades each rewrite on its own (long): run with -m {FULL}")
    for item in items:
        if item.get_closest_marker(FULL):
            item.add_marker(skip)
