"""The wire format: plain JSON and arrays of whitelisted dtypes, bounded sizes, deadlines; never pickle."""

from __future__ import annotations

import functools
import os
import pickle
import struct
import threading

import numpy as np
import pytest

from autograder.common import protocol


@pytest.fixture
def pipe():
    read, write = os.pipe()
    yield read, write
    for fd in (read, write):
        try:
            os.close(fd)
        except OSError:
            pass


def test_round_trip(pipe):
    read, write = pipe
    arrays = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": np.array([1, 2], dtype=np.int64)}
    protocol.write_message(write, {"op": "forward", "n": 2}, arrays)
    header, back = protocol.read_message(read, timeout=5)
    assert header == {"op": "forward", "n": 2}
    np.testing.assert_array_equal(back["x"], arrays["x"])
    assert back["y"].dtype == np.int64


def test_object_arrays_cannot_be_sent():
    with pytest.raises(TypeError, match="cannot be sent"):
        protocol.encode({}, {"x": np.array([object()], dtype=object)})


def test_a_pickle_is_never_unpickled(pipe):
    read, write = pipe
    payload = pickle.dumps({"evil": True})
    os.write(write, struct.pack(">Q", len(payload)) + payload)
    with pytest.raises(protocol.ProtocolError, match="not JSON"):
        protocol.read_message(read, timeout=5)


def test_a_dtype_outside_the_whitelist_is_refused(pipe):
    read, write = pipe
    header = b'{"arrays": [{"name": "x", "dtype": "object", "shape": [1]}]}'
    os.write(write, struct.pack(">Q", len(header)) + header)
    with pytest.raises(protocol.ProtocolError, match="not acceptable"):
        protocol.read_message(read, timeout=5)


def test_oversized_header_and_arrays_are_refused(pipe, monkeypatch):
    read, write = pipe
    os.write(write, struct.pack(">Q", protocol.HEADER_LIMIT + 1))
    with pytest.raises(protocol.ProtocolError, match="over the limit"):
        protocol.read_message(read, timeout=5)
    monkeypatch.setattr(protocol, "ARRAY_LIMIT", 1000)
    header = b'{"arrays": [{"name": "x", "dtype": "float64", "shape": [1000]}]}'
    os.write(write, struct.pack(">Q", len(header)) + header)
    with pytest.raises(protocol.ProtocolError, match="exceed 1000 bytes"):
        protocol.read_message(read, timeout=5)


def test_a_silent_peer_times_out(pipe):
    read, write = pipe
    os.write(write, struct.pack(">Q", 100) + b'{"partial')
    with pytest.raises(protocol.ChannelTimeout):
        protocol.read_message(read, timeout=0.3)


def test_a_closed_peer_is_reported(pipe):
    read, write = pipe
    os.close(write)
    with pytest.raises(protocol.ChannelClosed):
        protocol.read_message(read, timeout=5)


def test_large_messages_stream_through_a_pipe(pipe):
    read, write = pipe
    big = np.random.default_rng(0).random((4000, 784), dtype=np.float32)
    sender = threading.Thread(target=protocol.write_message, args=(write, {"op": "x"}, {"big": big}))
    sender.start()
    _, back = protocol.read_message(read, timeout=30)
    sender.join()
    np.testing.assert_array_equal(back["big"], big)


@pytest.mark.parametrize("header, words", [
    (b'{"arrays": ["x"]}', "an array spec is not acceptable: x"),
    (b'{"arrays": [{"name": "x", "dtype": "uint8", "shape": [99999999999, 99999999999]}]}', "exceed"),
    (b'{"arrays": [{"name": "x", "dtype": "uint8", "shape": [1.5]}]}', "not acceptable"),
    (b"[" * 100000 + b"]" * 100000, "not JSON"),
])  # fmt: skip
def test_a_forged_header_is_a_protocol_error_never_another_exception(pipe, header, words):
    read, write = pipe
    threading.Thread(target=os.write, args=(write, struct.pack(">Q", len(header)) + header), daemon=True).start()
    with pytest.raises(protocol.ProtocolError, match=words):
        protocol.read_message(read, timeout=5)


def test_every_string_the_trusted_side_reads_is_bounded():
    name = "E" * 1_000_000
    reply = {"error": {"type": name, "frames": [{"function": name}]}, name: [name, 1.5, None]}
    bounded = protocol.bounded(reply)
    assert len(str(bounded)) < 6 * protocol.STRING_LIMIT
    assert bounded["error"]["type"] == "E" * protocol.STRING_LIMIT + "…"
    assert list(bounded.values())[-1][1:] == [1.5, None]
    with pytest.raises(protocol.ProtocolError, match="nested more than"):
        protocol.bounded(functools.reduce(lambda inner, _: [inner], range(100), []))


def test_the_worker_settings_are_one_object_that_crosses_as_json_and_refuses_an_unknown_name():
    from autograder.common.settings import WorkerSettings

    settings = WorkerSettings(threads=3, slot=1).with_changes({"drop_uid": 60999, "preload": ["torch"],
                                                                "sources": {"4": "x = 1"}})
    again = WorkerSettings.from_json(settings.to_json())
    assert again == settings and again.preload == ("torch",) and again.sources == {4: "x = 1"}
    with pytest.raises(ValueError, match="unknown worker setting.*cell_secs"):
        settings.with_changes({"cell_secs": 10})
