"""The worker's model operations answer what the model computes: a small model with known weights, run through
the worker (forked from the session's warm template) and here, gives the same numbers for each operation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder.host.client import Worker, WorkerSettings

NET = '''
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Linear(3, 2)
        self.decoder = torch.nn.Linear(2, 3)
        with torch.no_grad():
            self.encoder.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]]))
            self.encoder.bias.copy_(torch.tensor([0.1, -0.2]))
            self.decoder.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 2.0], [0.5, 0.5]]))
            self.decoder.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))

    def forward(self, x):
        return self.decoder(torch.relu(self.encoder(x)))
'''
REF = {"source": "net.py", "name": "Net", "find": "class", "kind": "torch", "kwargs": {}, "args": [], "cells": None,
       "match": None, "parts": {"encoder": "encoder", "decoder": "decoder"}, "seed": 0, "input_shape": [3],
       "input_shapes": [[3]], "limit": None}
INPUTS = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0], [0.0, 0.0, 0.0], [2.0, -1.0, 1.0]], np.float32)


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """Each operation's answer from the worker, and the model built here from the same source."""
    folder = tmp_path_factory.mktemp("net")
    (folder / "net.py").write_text(NET)
    namespace: dict = {}
    exec(compile(NET, "net.py", "exec"), namespace)  # noqa: S102 - the test's own model
    model = namespace["Net"]()
    torch.save(model.state_dict(), folder / "net.pt")
    folder.chmod(0o755)  # as a submission's folder is: the worker's unprivileged uid reads it
    for path in folder.iterdir():
        path.chmod(0o644)
    worker = Worker(folder, WorkerSettings(threads=1))
    try:
        found = {
            "describe": worker.call("describe", "describing Net", 60, model=REF),
            "forward": worker.call("forward", "running Net", 60, arrays={"in0": INPUTS}, model=REF),
            "encoder": worker.call("forward", "running Net.encoder", 60, arrays={"in0": INPUTS}, model=REF,
                                   part="encoder"),
            "predict": worker.call("predict", "running Net", 60, arrays={"eval_inputs": INPUTS}, model=REF),
            "weights": worker.call("weights_predict", "loading net.pt", 60, arrays={"eval_inputs": INPUTS},
                                   model=REF, weights="net.pt"),
            "trace": worker.call("trace", "tracing Net", 60, arrays={"in0": INPUTS[:1]}, model=REF),
        }
    finally:
        worker.close()
    return found, model


def expected(model, part: str = "forward") -> np.ndarray:
    with torch.no_grad():
        call = model.encoder if part == "encoder" else model
        return call(torch.from_numpy(INPUTS)).numpy()


def test_describe_counts_the_parameters_and_names_the_class(answers):
    found, model = answers
    header, _ = found["describe"]
    assert header["class"] == "Net" and header["parameters"] == sum(p.numel() for p in model.parameters()) == 17


@pytest.mark.parametrize("operation, part, key", [("forward", "forward", "out0"), ("encoder", "encoder", "out0"),
                                                  ("predict", "forward", "outputs"),
                                                  ("weights", "forward", "outputs")])
def test_each_operation_gives_the_models_own_outputs(answers, operation, part, key):
    found, model = answers
    header, arrays = found[operation]
    assert header.get("loaded", True) is True, header
    np.testing.assert_allclose(arrays[key], expected(model, part), rtol=1e-6, atol=1e-6)


def test_trace_lists_the_layers_forward_runs_in_order(answers):
    found, _ = answers
    header, _ = found["trace"]
    assert [op["op"] for op in header["ops"]] == ["Linear", "ReLU", "Linear"], header["ops"]
