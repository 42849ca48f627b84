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


def _arrays(value) -> list | None:
    """The items of a returned tuple or list, each as numbers (None for an item that is not)."""
    if isinstance(value, dict) and value.get("type") in ("tuple", "list"):
        return [numbers(item) for item in value["items"]]
    return None


def check_returns_arrays(call: dict, expected: Expected) -> Verdict:
    """The function returns ``count`` arrays of ``length`` values each; those at the indices ``falls`` end below
    where they start (a training loss)."""
    count, length = expected["count"], int(expected["length"])
    items = _arrays(call["value"])
    found = call["value"].get("type") if isinstance(call["value"], dict) else type(call["value"]).__name__
    if items is None or len(items) != count:
        return Verdict(False, f"{expected.name} returns a {found}{f' of {len(items)}' if items else ''}; the handout "
                              f"asks for {count} arrays (one value per epoch)")
    for index, item in enumerate(items):
        size = np.size(item) if item is not None else 0
        if item is None or size != length:
            return Verdict(False, f"{expected.name}'s returned value {index + 1} holds {size} number(s); the handout "
                                  f"asks for one per epoch ({length})")
    for index in expected.get("falls", []):
        series = np.asarray(items[index], np.float64).reshape(-1)
        if not series[-1] < series[0]:
            return Verdict(False, f"{expected.name}'s returned value {index + 1} (a training loss) does not fall: "
                                  f"{series[0]:.4g} in the first epoch, {series[-1]:.4g} in the last{_on(call)}")
    return Verdict(True, f"{expected.name} returns {count} arrays of {length} values, one per epoch{_on(call)}")


def check_training_loop(call: dict, expected: Expected) -> Verdict:
    """What the function's training did, watched: optimizer steps taken, gradients zeroed before each, the
    optimizer and the loss the handout names."""
    training = call["training"]
    steps, zeroed = training.get("steps", 0), training.get("zero_grads", 0)
    if steps == 0:
        return Verdict(False, f"{expected.name} took no optimizer step")
    problems = []
    if zeroed < steps:
        problems.append(f"it zeroed the gradients {zeroed} time(s) for {steps} optimizer steps, so gradients "
                        "accumulate from step to step: call optimizer.zero_grad() before each backward pass")
    optimizer = expected.get("optimizer")
    used = ", ".join(training.get("optimizers", [])) or "no optimizer"
    if optimizer and optimizer not in training.get("optimizers", []):
        problems.append(f"it trains with {used}, not {optimizer}")
    loss, losses = expected.get("loss"), training.get("losses", [])
    if loss and losses and loss not in losses:
        problems.append(f"its loss is {', '.join(losses)}, not {loss}")
    if problems:
        return Verdict(False, f"{expected.name}: " + "; ".join(problems))
    unseen = f" (its loss is written by hand, so the grader did not check that it is the {loss})" \
        if loss and not losses else ""
    on = f" on the {loss}" if loss and losses else ""
    return Verdict(True, f"{expected.name} took {steps} {optimizer or ''} steps{on}, zeroing the gradients before "
                         f"each{unseen}{_on(call)}".replace("  ", " "))


def _on(call: dict) -> str:
    """What the grader's loaders held, for the feedback: " (called on a stand-in for SIGNS, not SIGNS: ...)"."""
    return f" (called on {'; '.join(call['data'])})" if call.get("data") else ""


def _what(described) -> str:
    """A returned value as the worker described it, in words: "an array of shape (800, 784)", "a str"."""
    if isinstance(described, dict) and "shape" in described:
        return f"an array of shape {tuple(described['shape'])}"
    kind = described.get("type", "value") if isinstance(described, dict) else type(described).__name__
    return f"a {kind}"


def check_matches_accuracy(call: dict, expected: Expected) -> Verdict:
    """The accuracy the function returns is the accuracy of the model's predictions, computed here."""
    value = numbers(call["value"])
    predicted = np.asarray(call["predicted"]).argmax(axis=1)
    accuracy = float((predicted == call["labels"]).mean())
    if value is None or np.size(value) != 1:
        return Verdict(False, f"{expected.name} returns {_what(call['value'])}, not one accuracy")
    found = float(np.asarray(value).reshape(-1)[0])
    scale = 100.0 if found > 1.0 + 1e-9 else 1.0  # a percentage is accepted
    if abs(found / scale - accuracy) > 1e-6:
        return Verdict(False, f"{expected.name} returns {found:.6g} for a model whose accuracy on those "
                              f"{len(predicted)} examples is {accuracy:.6g} (computed by the grader from its "
                              "predictions): count the correct predictions over every batch, and divide by the "
                              "number of examples")
    return Verdict(True, f"{expected.name} returns the model's accuracy ({accuracy:.4g} on {len(predicted)} "
                         f"examples, over batches of several sizes){_on(call)}")


def check_matches_encoder(call: dict, expected: Expected) -> Verdict:
    """The function returns the model's codes of the first examples of the loader, in order."""
    value, described = numbers(call["value"]), call["value"]
    wanted = np.asarray(call["predicted"], np.float64)
    shape = tuple(described["shape"]) if isinstance(described, dict) and "shape" in described else \
        np.shape(value) if value is not None else None
    if shape is None:
        return Verdict(False, f"{expected.name} returns {_what(described)}, not an array of codes")
    if shape != wanted.shape:
        return Verdict(False, f"{expected.name} returns an array of shape {shape}; the model's encoder gives "
                              f"{wanted.shape} for those examples")
    found = np.asarray(value, np.float64)
    if not np.allclose(found, wanted, rtol=1e-4, atol=1e-5):
        return Verdict(False, f"{expected.name} returns codes that are not the encoder's codes of the loader's first "
                              f"{len(wanted)} examples, in order")
    return Verdict(True, f"{expected.name} returns the encoder's codes of the first {len(wanted)} examples "
                         f"({found.shape[1]} values each){_on(call)}")


def _shown(values, count: int = 8) -> str:
    shown = ", ".join(f"{v:g}" for v in values[:count])
    distinct = len(set(values))
    return f"{shown}{', ...' if len(values) > count else ''} ({distinct} distinct value{'s' if distinct != 1 else ''})"


def check_scatter_colours(measured: dict, expected: Expected) -> Verdict:
    """The points of the problem's scatter plot are coloured by the labels of the samples they are codes of:
    its colours are the labels the DataLoader gave, in the same order, where the samples came from one."""
    plots, where = measured["scatters"], measured["problem"] or "this problem"
    if not plots:
        return Verdict(False, f"no scatter plot is drawn in {where}'s cells")
    coloured = [plot for plot in plots if plot.get("colours") is not None]
    if not coloured:
        cells = [plot["cell"] for plot in plots]
        if any(cells.count(cell) > 1 for cell in cells):
            return Verdict(True, f"the scatter in {where} is drawn one group at a time (one call per class); the "
                                 "grader did not compare its colours with the samples")
        return Verdict(False, f"the scatter in {where} is not coloured by the labels (no c= array of one label per "
                              "point)")
    plot = coloured[-1]
    colours = plot["colours"]
    candidates = [(cell, labels) for cell, labels in plot["recent_labels"] if len(labels) >= len(colours)]
    if not candidates:
        return Verdict(True, f"the scatter in {where} is coloured by {len(colours)} numbers; its samples did not come "
                             "from a DataLoader, so the grader could not compare them with their labels")
    for cell, labels in candidates:
        if np.array_equal(np.asarray(labels[: len(colours)], np.float64), np.asarray(colours, np.float64)):
            return Verdict(True, f"the {plot['points']} points of the scatter in {where} are coloured by the labels "
                                 f"of the samples the DataLoader gave in cell {cell + 1}, in the same order")
    cell, labels = candidates[-1]
    return Verdict(False, f"the {plot['points']} points of the scatter in {where} are coloured {_shown(colours)}, "
                          f"but the samples the DataLoader gave in cell {cell + 1} (those encoded there) have the "
                          f"labels {_shown(labels[: len(colours)])}: the colours do not belong to the points. Take "
                          "the labels from the same batches as the samples, or encode a loader with shuffle=False")
