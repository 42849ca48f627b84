"""The arguments an assignment gives a function subject, made into what the worker is sent.

Written in ``assignment.toml`` (``args`` and ``kwargs`` of a subject of kind ``function``)::

    3, "relu"                                             a literal
    { subject = "Classifier" }                            a fresh instance of another subject (its own arguments)
    { subject = "Autoencoder", kwargs = { code = 3 } }    ... with other arguments
    { loader = { data = "standin", split = "train", count = 960, batch_size = 64, shuffle = true } }
                                                          a DataLoader of (input, label) pairs of a data set of the
                                                          assignment, shaped as the ``input`` of ``shape_of`` (or
                                                          ``shape``) takes them: the grader's data, not the student's
                                                          Dataset class, so that a function is graded on its own
    { device = true }                                     the device the grader trains on

Arrays go with the request; the trusted side keeps the labels it sent, to score what comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..datasets.declared import as_model_input
from .locate import Subject, reference


@dataclass
class Compiled:
    args: list
    kwargs: dict
    arrays: dict = field(default_factory=dict)
    loaders: dict = field(default_factory=dict)  # array name -> (inputs, labels) the trusted side keeps
    data: list = field(default_factory=list)  # what the loaders hold, in words (a stand-in says so)


def _loader(ctx, options: dict, compiled: Compiled) -> dict:
    images = ctx.data.images(options["data"])
    about = ctx.assignment.data_spec(options["data"]).about or options["data"]
    if about not in compiled.data:
        compiled.data.append(about)
    split = options.get("split", "train")
    inputs, labels = (images.train_images, images.train_labels) if split == "train" else \
        (images.test_images, images.test_labels)
    count = int(options.get("count", 0)) or len(inputs)
    inputs, labels = inputs[:count], labels[:count]
    if "shape_of" in options:
        shape_spec = ctx.assignment.subjects[options["shape_of"]].input
        shape, layout = shape_spec.shapes[0], shape_spec.layout
    else:
        shape, layout = tuple(options.get("shape", inputs.shape[1:])), options.get("layout", "channels_first")
    x = as_model_input(inputs, tuple(shape), layout).astype(np.float32)
    name = f"loader{len(compiled.loaders)}"
    compiled.arrays[f"{name}_x"], compiled.arrays[f"{name}_y"] = x, labels.astype(np.int64)
    compiled.loaders[name] = (x, labels)
    return {"loader": {"tensors": [f"{name}_x", f"{name}_y"], "batch_size": int(options.get("batch_size", 64)),
                       "shuffle": bool(options.get("shuffle", False))}}


def _compile(ctx, spec, compiled: Compiled):
    if not isinstance(spec, dict):
        return spec
    if "subject" in spec:
        other = ctx.assignment.subjects[spec["subject"]]
        return {"subject": reference(ctx, Subject(other, {**other.kwargs, **spec.get("kwargs", {})}))}
    if "loader" in spec:
        return _loader(ctx, spec["loader"], compiled)
    if spec.get("device"):
        return {"device": True}
    raise ValueError(f"unknown argument {spec!r}")


def compile_arguments(ctx, subject: Subject) -> Compiled:
    compiled = Compiled([], {})
    compiled.args = [_compile(ctx, a, compiled) for a in subject.spec.args]
    compiled.kwargs = {k: _compile(ctx, v, compiled) for k, v in subject.kwargs.items()}
    return compiled


def loader_names(compiled: Compiled) -> list[str]:
    return list(compiled.loaders)
