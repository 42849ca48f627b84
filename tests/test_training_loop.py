"""The brief-training loop's batches and input noise: the same numbers however they are moved to the device."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from autograder.common import training
from autograder.common.recipes import Recipe


def _recipe(**changes) -> Recipe:
    base = dict(name="r", task="denoise", data="mnist", steps=23, batch_size=8, optimizer="adam", lr=1e-3,
                loss="mse", noise_std=0.3, clip=True)
    fields = {f.name for f in dataclasses.fields(Recipe)}
    defaults = {f.name: f.default for f in dataclasses.fields(Recipe) if f.default is not dataclasses.MISSING}
    return Recipe(**{**defaults, **{k: v for k, v in {**base, **changes}.items() if k in fields}})


def _drawn_step_by_step(n: int, recipe: Recipe, seed: int, item: tuple):
    """What a loop that draws each step's batch, then its noise, from the generator gets."""
    generator = torch.Generator().manual_seed(seed)
    for index in training._batches(n, recipe.batch_size, recipe.steps, generator):
        noise = torch.randn((len(index), *item), generator=generator) if recipe.noise_std else None
        yield index, noise


@pytest.mark.parametrize("changes", [{}, {"batch_size": 0, "steps": 3}, {"batch_size": 7, "steps": 40},
                                     {"task": "reconstruct", "noise_std": 0.0, "clip": False}])
@pytest.mark.parametrize("chunk", [1, 5, 50])
def test_chunked_step_data_are_the_numbers_drawn_step_by_step(monkeypatch, changes, chunk):
    monkeypatch.setattr(training, "CHUNK_STEPS", chunk)
    recipe = _recipe(**changes)
    inputs = torch.zeros(30, 1, 4, 4)
    got = list(training._step_data(inputs, recipe, torch.Generator().manual_seed(5), torch.device("cpu")))
    expected = list(_drawn_step_by_step(30, recipe, 5, (1, 4, 4)))
    assert len(got) == len(expected) == recipe.steps
    for (index, noise), (want_index, want_noise) in zip(got, expected, strict=True):
        assert torch.equal(index, want_index)
        assert (noise is None and want_noise is None) or torch.equal(noise, want_noise)


def test_a_chunk_of_noise_stays_within_its_memory_bound(monkeypatch):
    monkeypatch.setattr(training, "CHUNK_BYTES", 3 * 8 * (16 * 4 + 8))  # three steps of 8 items: noise and index
    moved = []
    original = training._moved

    def counted(indices, noises, device):
        moved.append(len(indices))
        yield from original(indices, noises, device)

    monkeypatch.setattr(training, "_moved", counted)
    steps = list(training._step_data(torch.zeros(30, 1, 4, 4), _recipe(), torch.Generator().manual_seed(0), "cpu"))
    assert len(steps) == 23 and max(moved) == 3
