"""Read and write the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

The format: two zero bytes, a type code, the number of dimensions, then one
big-endian uint32 per dimension, then the data in C order.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file."""


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Return the array stored in an IDX file (``.gz`` is decompressed on the fly)."""
    path = Path(path)
    with _open(path) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise IdxFormatError(f"{path} does not start with an IDX header")
    dtype, ndim = _DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxFormatError(
            f"{path}: the header promises {shape} ({expected} bytes) "
            f"but {len(data) - header} bytes follow"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8 or int8) as an uncompressed IDX file, or gzip if ``path`` ends in .gz."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    if array.dtype not in _CODES:
        raise TypeError(f"IDX writing supports uint8 and int8, not {array.dtype}")
    header = bytes([0, 0, _CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())
