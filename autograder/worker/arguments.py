"""Arguments the grader passes to student code, written as plain data and made into objects in the worker.

    3, "relu", [1, 2]                      a literal
    {"array": "X"}                         an array sent with the request (numpy)
    {"tensor": "X"}                        the same, as a torch tensor
    {"subject": REF}                       a fresh instance of a subject (a model, a data set)
    {"loader": {"dataset": REF, "batch_size": 64, "shuffle": false}}   a DataLoader over a data set subject
    {"loader": {"tensors": ["X", "Y"], "batch_size": 64}}             a DataLoader over arrays sent (the grader's)
    {"device": true}                       the device the grader trains on

A subject's arguments may name other subjects, so ``build`` (``subjects.build``) is passed in.
"""

from __future__ import annotations

import numpy as np
import torch


def evaluate(state, spec, arrays: dict, build):
    if not isinstance(spec, dict):
        return spec
    if "array" in spec:
        return np.array(arrays[spec["array"]])
    if "tensor" in spec:
        return torch.from_numpy(np.array(arrays[spec["tensor"]]))
    if "subject" in spec:
        return build(state, spec["subject"], arrays=arrays)
    if "loader" in spec:
        options = dict(spec["loader"])
        if "tensors" in options:
            dataset = torch.utils.data.TensorDataset(*(torch.from_numpy(np.array(arrays[name]))
                                                       for name in options.pop("tensors")))
        else:
            dataset = build(state, options.pop("dataset"), arrays=arrays)
        generator = torch.Generator().manual_seed(int(options.pop("seed", 0)))
        return torch.utils.data.DataLoader(dataset, generator=generator, **options)
    if spec.get("device"):
        return state.device
    raise ValueError(f"unknown argument spec {spec!r}")


def evaluate_arguments(state, args, kwargs, arrays: dict, build) -> tuple[list, dict]:
    return ([evaluate(state, a, arrays, build) for a in args],
            {k: evaluate(state, v, arrays, build) for k, v in kwargs.items()})
