"""Checks of a data set class, built on examples the grader chose: its length, its items' shape, type and
values."""

from __future__ import annotations

import numpy as np

from ...results import Verdict
from .expected import Expected


def check_dataset_length(measured: dict, expected: Expected) -> Verdict:
    sent, length = len(measured["sent"]["X"]), measured["length"]
    if length != sent:
        return Verdict(False, f"len({expected.name}(X)) is {length} for an X of {sent} examples; __len__ should "
                              "return the number of examples")
    return Verdict(True, f"len({expected.name}(X)) is {length}, the number of examples")


def _parts(item: dict, expected: Expected) -> tuple[dict | None, dict | None, str | None]:
    """(input element, label element, problem): an item is the input alone, or (input, label)."""
    elements = item["elements"]
    if expected.get("label"):
        if not item["tuple"] or len(elements) != 2:
            return None, None, (f"{expected.name}(...)[{item['index']}] returns "
                                f"{'a ' + elements[0]['type'] if not item['tuple'] else f'{len(elements)} values'}, "
                                "not (input, label)")
        return elements[0], elements[1], None
    if item["tuple"]:
        return None, None, (f"{expected.name}(...)[{item['index']}] returns {len(elements)} values, not a single "
                            "tensor")
    return elements[0], None, None


def _label_dtype_ok(found: str | None, wanted: str) -> bool:
    """A Python int is an int64 label: a DataLoader batches it into an int64 tensor."""
    return found == wanted or (wanted == "int64" and found == "int")


def check_item_shape(measured: dict, expected: Expected) -> Verdict:
    if not measured["items"]:
        return Verdict(False, f"{expected.name}(X) has no items")
    shape, dtype = list(expected["item_shape"]), expected.get("dtype", "float32")
    for item in measured["items"]:
        first, label, problem = _parts(item, expected)
        if problem:
            return Verdict(False, problem)
        where = f"{expected.name}(...)[{item['index']}]"
        if first["type"] != "Tensor":
            return Verdict(False, f"{where} is a {first['type']}, not a torch tensor")
        if first["shape"] != shape:
            return Verdict(False, f"{where} has shape {tuple(first['shape'])}; the handout asks for {tuple(shape)}")
        if first["dtype"] != dtype:
            return Verdict(False, f"{where} has dtype {first['dtype']}; the handout asks for {dtype} "
                                  f"(convert with .{'float' if dtype == 'float32' else dtype}())")
        if label is not None and not _label_dtype_ok(label["dtype"], expected.get("label_dtype", "int64")):
            return Verdict(False, f"the label of {where} has dtype {label['dtype']}; the handout asks for "
                                  f"{expected.get('label_dtype', 'int64')}")
    label = f" with a {expected.get('label_dtype', 'int64')} label" if expected.get("label") else ""
    return Verdict(True, f"{expected.name}(...)[i] is a {dtype} tensor of shape {tuple(shape)}{label}")


def expected_item(example: np.ndarray, shape, form: str) -> np.ndarray:
    """What item i should hold for example i as sent: reshaped, or moved from channels last to first."""
    if form == "channels_first" and example.ndim == 3:
        return example.transpose(2, 0, 1)
    return example.reshape(shape)


def check_item_values(measured: dict, expected: Expected) -> Verdict:
    if not measured["items"]:
        return Verdict(False, f"{expected.name}(X) has no items")
    shape, form = list(expected["item_shape"]), expected.get("form", "reshape")
    for item in measured["items"]:
        first, label, problem = _parts(item, expected)
        if problem:
            return Verdict(False, problem)
        index = item["index"]
        found = measured["values"][index][0]
        where = f"{expected.name}(...)[{index}]"
        wanted = expected_item(measured["sent"]["X"][index], shape, form).astype(np.float64)
        if found is None or found.size != wanted.size:
            return Verdict(False, f"{where} holds {0 if found is None else found.size} values; example {index} has "
                                  f"{wanted.size}")
        if not np.allclose(found.reshape(-1), wanted.reshape(-1), rtol=1e-5, atol=1e-6):
            return Verdict(False, f"{where} does not hold example {index} of X (as a {tuple(shape)} tensor); "
                                  "__getitem__ should return X[idx], converted and reshaped, not another example "
                                  "or a transformed one")
        if label is not None:
            found_label = measured["values"][index][1]
            if found_label is None or float(np.asarray(found_label).reshape(-1)[0]) != measured["sent"]["Y"][index]:
                return Verdict(False, f"the label of {where} is not Y[{index}]")
    return Verdict(True, f"{expected.name}(...)[i] holds the values of example i of the data it is given")
