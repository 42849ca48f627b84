import gzip

import numpy as np
import pytest

from autograder.common.idx import IdxFormatError, read_idx, write_idx


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / name, images)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8 and back.shape == (7, 28, 28)
    np.testing.assert_array_equal(back, images)


def test_idx_header_of_the_mnist_label_format(tmp_path):
    write_idx(tmp_path / "labels", np.array([5, 0, 4], dtype=np.uint8))
    raw = (tmp_path / "labels").read_bytes()
    assert raw[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 3])  # uint8, one dimension of size 3
    assert raw[8:] == bytes([5, 0, 4])


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    (tmp_path / "x.gz").write_bytes(gzip.compress(b"<html>not found</html>"))
    with pytest.raises(IdxFormatError, match="does not start with an IDX header"):
        read_idx(tmp_path / "x.gz")


def test_read_idx_rejects_a_truncated_file(tmp_path):
    write_idx(tmp_path / "x", np.zeros((4, 2, 2), dtype=np.uint8))
    (tmp_path / "x").write_bytes((tmp_path / "x").read_bytes()[:-3])
    with pytest.raises(IdxFormatError, match=r"promises \(4, 2, 2\)"):
        read_idx(tmp_path / "x")
