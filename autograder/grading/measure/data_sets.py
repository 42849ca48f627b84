"""A data set class measured in the worker: built on arrays the grader sends, its length and some items."""

from __future__ import annotations

import numpy as np

from ..locate import Subject, reference
from ..outcomes import CheckFailed
from .models import mapped_arguments

# what a data set check may expect: the shape and dtype of an item's input, whether items are (input, label)
# pairs and the label's dtype, how an example maps to an item ("reshape", or "channels_first" from channels
# last), and what to build it on: a data set of the assignment, as rows or images.
OPTIONS = ("item_shape", "dtype", "label", "label_dtype", "form", "data", "count", "send")
SHOWN = 8


def sent_arrays(ctx, subject: Subject, options: dict) -> dict[str, np.ndarray]:
    """The arrays the data set class is built on: ``count`` examples of a data set of the assignment, sent as
    ``send`` says: "rows" (N, D), "channels_last" (N, H, W, C) or "channels_first" (N, C, H, W); and labels."""
    key = options.get("data") or subject.spec.data
    images = ctx.data.images(key)
    count = int(options.get("count", 64))
    examples = images.test_images[:count]
    form = options.get("send", "rows")
    if form == "rows":
        inputs = examples.reshape(len(examples), -1)
    elif form == "channels_last":
        inputs = examples.transpose(0, 2, 3, 1)
    else:
        inputs = examples
    return {"X": np.ascontiguousarray(inputs, np.float64 if form == "rows" else np.float32),
            "Y": images.test_labels[:count].astype(np.int64)}


def items(ctx, subject: Subject, check) -> dict:
    """Build the class on the arrays (``args`` of the subject name them: {"array": "X"}), read its length and
    its first items: each element's type, dtype, shape and values."""
    def measure():
        options = {**_dataset_options(subject), **check.options}
        arrays = sent_arrays(ctx, subject, options)
        ref = reference(ctx, subject)
        if not ref["args"]:
            ref["args"] = [{"array": "X"}, {"array": "Y"}] if options.get("label") else [{"array": "X"}]
        header, out = ctx.link.call("dataset_items", f"building {subject.spec.name} on {len(arrays['X'])} examples",
                                    arrays=arrays, model=ref, indices=list(range(SHOWN)))
        if header.get("arguments"):
            ctx.note(mapped_arguments(ref["name"], header["arguments"]))
        values = {}
        for item in header["items"]:
            values[item["index"]] = [out.get(f"item{item['index']}_{p}") for p in range(len(item["elements"]))]
        return {"length": header["length"], "items": header["items"], "values": values, "sent": arrays,
                "options": options}

    return ctx.memo(("dataset items", subject.key), measure)


def _dataset_options(subject: Subject) -> dict:
    """The options any of the subject's data set checks give (one measurement serves them all)."""
    merged = {}
    for check in subject.spec.checks.values():
        if check.type in ("dataset_length", "item_shape", "item_values"):
            merged.update(check.options)
    return merged


def require_items(measured: dict) -> None:
    if not measured["items"]:
        raise CheckFailed("the data set has no items to check")
