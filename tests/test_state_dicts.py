"""Weight files as students save them: a state_dict, a checkpoint around one, wrapper-prefixed keys."""

import torch

from autograder.common.state_dicts import unwrap_state_dict


def weights():
    return torch.nn.Linear(2, 3).state_dict()


def test_a_plain_state_dict_is_taken_as_it_is_without_a_note():
    sd = weights()
    state, note = unwrap_state_dict(sd, torch.Tensor)
    assert state is sd and note is None


def test_a_training_checkpoint_gives_its_model_state_dict_and_says_so():
    sd = weights()
    checkpoint = {"epoch": 10, "model_state_dict": sd, "optimizer_state_dict": {"state": {}}, "loss": 0.03}
    state, note = unwrap_state_dict(checkpoint, torch.Tensor)
    assert state is sd
    assert "checkpoint" in note and "'model_state_dict'" in note


def test_a_data_parallel_prefix_is_removed_and_said():
    state, note = unwrap_state_dict({f"module.{k}": v for k, v in weights().items()}, torch.Tensor)
    assert set(state) == {"weight", "bias"}
    assert "'module.'" in note


def test_a_checkpoint_of_a_compiled_model_is_unwrapped_twice():
    wrapped = {"state_dict": {f"_orig_mod.{k}": v for k, v in weights().items()}}
    state, note = unwrap_state_dict(wrapped, torch.Tensor)
    assert set(state) == {"weight", "bias"}
    assert "'state_dict'" in note and "'_orig_mod.'" in note


def test_a_prefix_on_only_some_keys_is_left_alone():
    mixed = {"module.weight": torch.zeros(3, 2), "bias": torch.zeros(3)}
    state, note = unwrap_state_dict(mixed, torch.Tensor)
    assert set(state) == {"module.weight", "bias"} and note is None


def test_things_that_hold_no_state_dict_are_refused():
    for loaded in ([torch.zeros(2)], torch.zeros(2), {}, {"epoch": 3, "model_state_dict": {}}, {"model": [1, 2]}):
        assert unwrap_state_dict(loaded, torch.Tensor) == (None, None)
