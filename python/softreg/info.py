"""The guessing game's mathematics (info.hpp), on weights or probabilities (normalised first):

    entropy([1, 1, 1, 1])                      2.0 questions (bits)
    entropy([4, 2, 1, 1])                      1.75
    cross_entropy([4, 2, 1, 1], [1, 1, 1, 1])  2.0: playing the strategy made for the wrong bag
    kl_divergence([4, 2, 1, 1], [1, 1, 1, 1])  0.25, what the wrong belief costs
    huffman([4, 2, 1, 1])                      the optimal strategy: codewords, lengths, tree

unit="nats" gives natural logarithms (the training loss's unit) instead of bits.
"""
import numpy as np

from . import _core

_info = _core.info


def _weights(w):
    return np.asarray(w, dtype=np.float64).reshape(-1)


def entropy(p, unit="bits"):
    return _info.entropy(_weights(p), unit)


def cross_entropy(p, q, unit="bits"):
    return _info.cross_entropy(_weights(p), _weights(q), unit)


def kl_divergence(p, q, unit="bits"):
    return _info.kl_divergence(_weights(p), _weights(q), unit)


def huffman(weights):
    """A dict: codewords (one string per ball; '' for a ball of weight 0), lengths (the number
    of questions that find each ball; -1 for weight 0), nodes (weight, symbols, yes, no: the
    tree of questions, -1 for no child) and root."""
    return _info.huffman(_weights(weights))
