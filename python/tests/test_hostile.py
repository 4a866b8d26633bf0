"""Hostile input through the Python package: it ends in an exception naming what is wrong, never
in a read out of bounds or a message lost on the way to Python."""
import struct

import numpy as np
import pytest
import scipy.sparse as sp

import softreg
from softreg import _core


def test_csr_whose_indptr_points_past_its_values_is_refused_before_it_is_read():
    W, b = np.zeros((1, 8), np.float32), np.zeros(1, np.float32)
    indices, data = np.arange(5, dtype=np.int32), np.ones(5, np.float32)
    for indptr, message in (([0, 10**8, 5], "X: indptr decreases at row 1"),
                            ([0, 2, 7], "X: indptr ends at 7 but indices has 5 entries and data 5"),
                            ([1, 2, 5], "X: indptr does not start at 0")):
        with pytest.raises(ValueError, match="^" + message):
            _core.decision_function((np.array(indptr, np.int64), indices, data), (2, 8), W, b, 2,
                                    1, "decision")
    model = softreg.LogisticRegression().fit(sp.csr_matrix(np.eye(8, dtype=np.float32)), [0, 1] * 4)
    X = sp.csr_matrix((data, indices, np.array([0, 3, 5], np.int64)), shape=(2, 8))
    X.indptr[1] = 10**8
    with pytest.raises(ValueError, match="indptr"):
        model.predict(X)


def test_a_model_file_whose_metadata_is_not_utf8_gives_a_message_that_says_so(tmp_path):
    good = tmp_path / "ok.safetensors"
    _core.save_model(str(good), np.zeros((2, 3), np.float32), np.zeros(2, np.float32), ["a", "b"],
                     [3], 1.0, [], [], {"note": "ZZZZ"})
    raw = good.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = raw[8:8 + n].replace(b"ZZZZ", b"Z\xffZZ")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(header)) + header + raw[8 + n:])
    with pytest.raises(ValueError) as e:
        softreg.load(bad)
    assert str(e.value).startswith(str(bad) + ": "), str(e.value)
    assert "UTF-8" in str(e.value) or "\\xff" in str(e.value), str(e.value)


def test_library_messages_name_pythons_parameters_not_the_command_lines_options():
    X = np.random.default_rng(0).normal(size=(300, 20)).astype(np.float32) * 100
    y = np.arange(300) % 3
    with pytest.raises(RuntimeError) as e:
        softreg.SoftmaxRegression(lr=1e37, epochs=2, batch_size=50).fit(X, y)
    message = str(e.value)
    assert "training diverged" in message and "e.g. lr " in message, message
    assert "--" not in message and "`" not in message, message
