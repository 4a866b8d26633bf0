"""softreg.ops and softreg.info for notebooks: the lesson's functions against numpy's own
arithmetic, and the guessing game's tables (2 and 1.75 questions, KL 0.25)."""
import numpy as np
import pytest

import softreg
from softreg import info, ops


def test_softmax_is_exp_over_the_row_sum_and_the_naive_one_overflows():
    z = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]])
    e = np.exp(z)
    np.testing.assert_allclose(ops.softmax(z), e / e.sum(axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(ops.softmax_naive(z), ops.softmax(z), rtol=1e-15)
    big = np.array([[1000.0, 1001.0, 999.0]])
    assert np.isnan(ops.softmax_naive(big)).any()
    np.testing.assert_allclose(ops.softmax(big), ops.softmax(big - 1000), rtol=1e-15)
    np.testing.assert_allclose(ops.logsumexp(big), [1000 + np.log(np.exp(0) + np.exp(1) +
                                                                    np.exp(-1))], rtol=1e-15)
    np.testing.assert_allclose(ops.log_softmax(z), np.log(ops.softmax(z)), rtol=1e-13)
    np.testing.assert_allclose(ops.softmax([1.0, 2.0]), ops.softmax([[1.0, 2.0]])[0])


def test_cross_entropy_picks_the_true_class_and_equals_the_full_sum():
    z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    y = np.array([0, 2])
    onehot = np.eye(3)[y]
    full = -(onehot * np.log(ops.softmax(z))).sum(axis=1)
    np.testing.assert_allclose(ops.cross_entropy(z, y), full, rtol=1e-13)
    assert ops.accuracy(z, y) == 0.5
    with pytest.raises(ValueError, match="label 3"):
        ops.cross_entropy(z, [0, 3])


def test_the_two_class_softmax_is_the_sigmoid_of_the_difference():
    z = np.array([[0.3, 1.7], [-2.0, 4.0]])
    np.testing.assert_allclose(ops.softmax(z)[:, 1], ops.sigmoid(z[:, 1] - z[:, 0]), rtol=1e-14)
    assert ops.sigmoid(0.0) == 0.5
    assert ops.sigmoid(-800.0) == 0.0 and ops.sigmoid(800.0) == 1.0


def test_the_guessing_games_tables():
    assert info.entropy([1, 1, 1, 1]) == pytest.approx(2.0, abs=1e-15)
    assert info.entropy([4, 2, 1, 1]) == pytest.approx(1.75, abs=1e-15)
    assert info.cross_entropy([4, 2, 1, 1], [1, 1, 1, 1]) == pytest.approx(2.0, abs=1e-15)
    assert info.kl_divergence([4, 2, 1, 1], [1, 1, 1, 1]) == pytest.approx(0.25, abs=1e-15)
    assert info.entropy([1, 1], unit="nats") == pytest.approx(np.log(2), abs=1e-15)
    code = info.huffman([4, 2, 1, 1])
    assert code["lengths"] == [1, 2, 3, 3]
    assert code["codewords"] == ["1", "01", "001", "000"]
    with pytest.raises(ValueError, match="negative"):
        info.entropy([1, -1])
