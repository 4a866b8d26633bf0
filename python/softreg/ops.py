"""The lesson's functions on numpy arrays (float64), computed by softreg's C++ (ops.hpp): rows
are examples, columns classes.

    softmax_naive(z)   exp(z) / sum exp(z), literally: overflows to NaN past z = 709.8
    softmax(z)         the stable version: the row maximum subtracted first
    log_softmax(z)     z - logsumexp(z), finite where softmax underflows to 0
    logsumexp(z)       log sum exp(z) per row
    cross_entropy(z, y)  -log softmax(z)[i, y_i] per row: the one-hot "pick" trick
    sigmoid(x)         1 / (1 + e^-x), stable for large |x| (a number or an array)
    accuracy(z, y)     the fraction of rows whose argmax is y_i
"""
import numpy as np

from . import _core

_ops = _core.ops


def _rows(z):
    z = np.asarray(z, dtype=np.float64)
    return z.reshape(1, -1) if z.ndim == 1 else z


def _shaped(out, z):
    return out.ravel() if np.ndim(z) == 1 else out


def softmax_naive(z):
    return _shaped(_ops.softmax_naive(_rows(z)), z)


def softmax(z):
    return _shaped(_ops.softmax(_rows(z)), z)


def log_softmax(z):
    return _shaped(_ops.log_softmax(_rows(z)), z)


def logsumexp(z):
    out = _ops.logsumexp(_rows(z))
    return out[0] if np.ndim(z) == 1 else out


def cross_entropy(z, y):
    return _ops.cross_entropy(_rows(z), np.asarray(y, dtype=np.int32).reshape(-1))


def accuracy(z, y):
    return _ops.accuracy(_rows(z), np.asarray(y, dtype=np.int32).reshape(-1))


def sigmoid(x):
    if np.ndim(x) == 0:
        return _ops.sigmoid(float(x))
    return np.vectorize(_ops.sigmoid, otypes=[np.float64])(np.asarray(x, dtype=np.float64))
