"""The wire format between the trusted process and the sandbox worker. No pickle, ever.

A message is a length-prefixed JSON header followed by the raw bytes of the
arrays it lists (``{"name", "dtype", "shape"}``). Arrays are read back with
``np.frombuffer`` from a whitelist of plain dtypes, so nothing the worker sends
can run code in the reader. Sizes are capped on the reading side.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import struct
import time

import numpy as np

HEADER_LIMIT = 4 * 1024 * 1024  # bytes of JSON
STRING_LIMIT = 2000  # characters of any one string in a reply (a name, a message): feedback stays readable
DEPTH_LIMIT = 64  # nesting of a reply's JSON
ARRAY_LIMIT = 512 * 1024 * 1024  # bytes of arrays in one message
DTYPES = {"float32", "float64", "int64", "int32", "uint8", "bool"}
_LENGTH = struct.Struct(">Q")


class ProtocolError(RuntimeError):
    """The other side sent something that is not a well-formed message."""


class ChannelClosed(ProtocolError):
    """The other side closed the channel (for the worker: it exited or crashed)."""


class ChannelTimeout(TimeoutError):
    """No complete message arrived before the deadline."""


def encode(header: dict, arrays: dict[str, np.ndarray] | None = None) -> bytes:
    arrays = arrays or {}
    specs, payload = [], []
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        if array.dtype.name not in DTYPES:
            raise TypeError(f"array {name}: dtype {array.dtype} cannot be sent")
        specs.append({"name": name, "dtype": array.dtype.name, "shape": list(array.shape)})
        payload.append(array.tobytes())
    text = json.dumps({**header, "arrays": specs}, allow_nan=True).encode()
    return _LENGTH.pack(len(text)) + text + b"".join(payload)


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, remaining = [], n
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ChannelTimeout(f"no reply within the time limit ({n - remaining} of {n} bytes read)")
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise ChannelClosed("the channel was closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, timeout: float | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """Read one message; raise ChannelTimeout, ChannelClosed or ProtocolError."""
    deadline = None if timeout is None else time.monotonic() + timeout
    (length,) = _LENGTH.unpack(_read_exact(fd, _LENGTH.size, deadline))
    if length > HEADER_LIMIT:
        raise ProtocolError(f"a message header of {length} bytes is over the limit")
    try:
        header = json.loads(_read_exact(fd, length, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ProtocolError(f"a message header is not JSON: {str(error)[:200]}") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise ProtocolError("a message header is not a JSON object with a list of arrays")
    arrays, total = {}, 0
    for spec in header.pop("arrays", []):
        dtype, shape = (spec.get("dtype"), spec.get("shape")) if isinstance(spec, dict) else (None, None)
        if (dtype not in DTYPES or not isinstance(shape, list) or len(shape) > 32
                or not all(type(d) is int and d >= 0 for d in shape)):
            raise ProtocolError(f"an array spec is not acceptable: {str(spec)[:200]}")
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        total += nbytes
        if total > ARRAY_LIMIT:
            raise ProtocolError(f"the arrays of one message exceed {ARRAY_LIMIT} bytes")
        data = _read_exact(fd, nbytes, deadline)
        arrays[str(spec.get("name"))[:STRING_LIMIT]] = np.frombuffer(data, dtype=dtype).reshape(shape)
    return header, arrays


_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe_text(text: str) -> str:
    """A string from the worker made safe to print and write anywhere: lone surrogates (which no encoder takes)
    replaced, control characters other than newline and tab (a terminal's escape sequences, a carriage return
    that overwrites a line, bidirectional overrides) shown as escapes, the length bounded."""
    text = text if len(text) <= STRING_LIMIT else text[:STRING_LIMIT] + "…"
    return _UNSAFE.sub(lambda m: "\ufffd" if "\ud800" <= m[0] <= "\udfff" else f"\\x{ord(m[0]):02x}"
                       if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text)


def bounded(value, depth: int = 0):
    """``value`` (parsed JSON) with every string, keys included, made safe (``safe_text``: cut to STRING_LIMIT
    characters, no control characters or surrogates). The trusted side reads every reply through it: whatever
    the worker names (an exception's type, a function, a class), the report and results.json stay small and
    every report can write it."""
    if depth > DEPTH_LIMIT:
        raise ProtocolError(f"a message header is nested more than {DEPTH_LIMIT} deep")
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list):
        return [bounded(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {bounded(k, depth + 1): bounded(v, depth + 1) for k, v in value.items()}
    return value


def write_message(fd: int, header: dict, arrays: dict[str, np.ndarray] | None = None) -> None:
    data = memoryview(encode(header, arrays))
    while data:
        written = os.write(fd, data)
        data = data[written:]
