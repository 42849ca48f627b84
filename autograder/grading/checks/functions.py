"""Checks of plain functions: their values against the answer key's, the histories a training function
returns."""

from __future__ import annotations

import numpy as np

from ...results import Verdict
from .expected import Expected


def numbers(value):
    """The numbers in a value as the worker describes it (None when there are none)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict) and value.get("type") == "ndarray" and "values" in value:
        return np.asarray(value["values"], np.float64)
    if isinstance(value, dict) and value.get("type") in ("list", "tuple"):
        items = [numbers(v) for v in value["items"]]
        return None if any(i is None for i in items) else np.asarray(items, np.float64)
    return None


def _shown_call(name: str, case: dict) -> str:
    parts = [repr(a) for a in case["args"]] + [f"{k}={v!r}" for k, v in case["kwargs"].items()]
    return f"{name}({', '.join(parts)})"


def check_function_values(cases: list[dict], expected: Expected) -> Verdict:
    rtol, atol = expected.get("rtol", 1e-6), expected.get("atol", 1e-9)
    for case in cases:
        shown = _shown_call(expected.name, case)
        if "error" in case:
            return Verdict(False, f"{shown}: {case['error']}")
        found = numbers(case["found"])
        if found is None:
            kind = case["found"].get("type", "value") if isinstance(case["found"], dict) else "value"
            return Verdict(False, f"{shown} returned a {kind}, not numbers")
        wanted = np.asarray(case["expected"], np.float64)
        if np.shape(found) != wanted.shape or not np.allclose(found, wanted, rtol=rtol, atol=atol):
            return Verdict(False, f"{shown} does not give the answer key's value (relative tolerance {rtol:g})")
    return Verdict(True, f"{expected.name} gives the answer key's values at {len(cases)} argument(s) the grader "
                         "chose")


def _history(result: dict) -> dict | None:
    value = result.get("value")
    if isinstance(value, dict) and value.get("type") == "History":
        items = value["history"].get("items", {})
        return {k: numbers(v) for k, v in items.items()}
    return None


def check_returns_history(sweep: dict, expected: Expected) -> Verdict:
    keys = list(expected["keys"])
    for result in sweep["results"]:
        shown = f"{expected.name}({', '.join(f'{k}={v!r}' for k, v in result['kwargs'].items())})"
        if "error" in result:
            return Verdict(False, f"{shown} raised: {result['error']}")
        history = _history(result)
        if history is None:
            found = result["value"].get("type") if isinstance(result["value"], dict) else type(result["value"]).__name__
            return Verdict(False, f"{shown} returns a {found}, not the History that fit returns")
        missing = [k for k in keys if history.get(k) is None or np.size(history[k]) == 0]
        if missing:
            return Verdict(False, f"the History {shown} returns has no {', '.join(missing)} (it has "
                                  f"{', '.join(history) or 'nothing'}); pass validation_data to fit")
    return Verdict(True, f"{expected.name} returns a History with {', '.join(keys)} at each of "
                         f"{len(sweep['results'])} values of {sweep['argument']}")


def check_history_trend(sweep: dict, expected: Expected) -> Verdict:
    """The last value of each key falls from the smallest to the largest value of the swept argument."""
    keys, argument = list(expected["keys"]), sweep["argument"]
    tolerance, min_drop = expected.get("tolerance", 0.05), expected.get("min_drop", 0.05)
    finals = {key: [] for key in keys}
    values = []
    for result in sweep["results"]:
        history = _history(result) if "error" not in result else None
        if history is None or any(history.get(k) is None or np.size(history[k]) == 0 for k in keys):
            return Verdict(False, "not checked: the function does not return a History with "
                                  f"{', '.join(keys)} (see the history check)")
        values.append(result["kwargs"][argument])
        for key in keys:
            finals[key].append(float(np.asarray(history[key]).reshape(-1)[-1]))
    for key, series in finals.items():
        shown = ", ".join(f"{argument}={v}: {e:.4g}" for v, e in zip(values, series, strict=True))
        if series[0] - series[-1] < min_drop * series[0]:
            return Verdict(False, f"the final {key} of {expected.name} should fall as {argument} grows, but it "
                                  f"falls by less than {min_drop:.0%} from {values[0]} to {values[-1]} ({shown})")
        rises = [i for i in range(len(series) - 1) if series[i + 1] > series[i] * (1 + tolerance)]
        if rises:
            i = rises[0]
            return Verdict(False, f"the final {key} of {expected.name} should fall as {argument} grows, but it rises "
                                  f"from {argument}={values[i]} to {values[i + 1]} ({shown})")
    return Verdict(True, f"the final {' and '.join(keys)} of {expected.name} fall as {argument} grows "
                         f"({', '.join(f'{v}: {finals[keys[0]][i]:.4g}' for i, v in enumerate(values))})")


def check_returned_model(sweep: dict, expected: Expected) -> Verdict:
    """The Keras model each call trained (the History's model) has the Dense widths expected, written with the
    call's arguments: ``widths = ["{code_size}", 784]``."""
    for result in sweep["results"]:
        kwargs = result["kwargs"]
        shown = f"{expected.name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
        if "error" in result:
            return Verdict(False, f"{shown} raised: {result['error']}")
        wanted = [int(str(w).format(**kwargs)) for w in expected["widths"]]
        model = result.get("model")
        if not model:
            return Verdict(False, f"{shown} returns neither a Keras model nor the History of one's training")
        if model["dense_widths"] != wanted:
            return Verdict(False, f"{shown} trains a model of Dense widths {model['dense_widths']}; expected "
                                  f"{wanted}")
    widths = ", ".join(str(w).strip("{}") for w in expected["widths"])
    return Verdict(True, f"each call trains a model of Dense widths [{widths}]")
