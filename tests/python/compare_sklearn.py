#!/usr/bin/env python3
"""Fits scikit-learn's LogisticRegression on the data a softreg model was trained on, and
evaluates both solutions with the objective of docs/objective.md.

    compare_sklearn.py MODEL (--csv FILE | --libsvm FILE | --fashion DIR --limit N) --C C
                       [--class-weight balanced] [--weight-column NAME] [--tol TOL]

MODEL is a softreg model file trained on the same rows (all of FILE, or the first N training
images of DIR) with the same C, weights and model kind (a one-row model is logistic, as
scikit-learn's binary model). The CSV's features must be the exact values softreg read (the test
writes them as the decimal expansion of each float); Fashion-MNIST's pixels are scaled by the
float32 1/255 softreg uses. Prints one JSON object:

    f_softreg, f_sklearn     F(W, b) = (1/S) Σ sᵢ ℓᵢ + (λ/2)‖W‖², λ = 1/(C S), in float64
    coef_relative            ‖W_softreg − W_sklearn‖_F / ‖W_sklearn‖_F
    n_iter                   scikit-learn's iterations
"""
import argparse
import csv
import gzip
import json
import struct
import sys

import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import LogisticRegression


def read_model(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]

    def tensor(name):
        begin, end = header[name]["data_offsets"]
        return np.frombuffer(data[begin:end], dtype="<f4").reshape(header[name]["shape"])

    meta = header["__metadata__"]
    return tensor("weight").astype(np.float64), tensor("bias").astype(np.float64), meta


def read_idx(path):
    raw = gzip.decompress(open(path, "rb").read()) if path.endswith(".gz") else open(path, "rb").read()
    ndims = raw[3]
    dims = struct.unpack(">" + "I" * ndims, raw[4 : 4 + 4 * ndims])
    return np.frombuffer(raw[4 + 4 * ndims :], dtype=np.uint8).reshape(dims)


def read_csv(path, weight_column):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    label = len(header) - 1
    weight = header.index(weight_column) if weight_column else None
    features = [c for c in range(len(header)) if c not in (label, weight)]
    X = np.array([[float(r[c]) for c in features] for r in body])
    labels = [r[label] for r in body]
    w = np.array([float(r[weight]) for r in body]) if weight is not None else None
    return X, labels, w


def objective(W, b, X, y, s, lam, logistic):
    """F of docs/objective.md, in float64; y holds class indices."""
    if logistic:
        z = X @ W[0] + b[0]
        loss = np.logaddexp(0.0, z) - y * z
    else:
        o = X @ W.T + b
        m = o.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(o - m).sum(axis=1))
        loss = lse - o[np.arange(len(y)), y]
    return float((s * loss).sum() / s.sum() + 0.5 * lam * (W * W).sum())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--csv")
    p.add_argument("--libsvm", help="a LIBSVM file of integer labels, read as scipy.sparse")
    p.add_argument("--fashion")
    p.add_argument("--limit", type=int)
    p.add_argument("--C", type=float, required=True)
    p.add_argument("--class-weight")
    p.add_argument("--weight-column")
    p.add_argument("--tol", type=float, default=1e-10)
    a = p.parse_args()

    if a.csv:
        X, labels, sample_weight = read_csv(a.csv, a.weight_column)
        classes = sorted(set(labels))
        if all(l.lstrip("+-").isdigit() for l in classes):
            classes = sorted(classes, key=int)
        y = np.array([classes.index(l) for l in labels])
    elif a.libsvm:
        W0, _, _ = read_model(a.model)
        X, labels = load_svmlight_file(a.libsvm, n_features=W0.shape[1])  # CSR, never dense
        classes = sorted(set(int(l) for l in labels))
        y = np.array([classes.index(int(l)) for l in labels])
        sample_weight = None
    else:
        images = read_idx(a.fashion + "/train-images-idx3-ubyte.gz")[: a.limit]
        X = images.reshape(len(images), -1) * np.float64(np.float32(1.0 / 255.0))
        y = read_idx(a.fashion + "/train-labels-idx1-ubyte.gz")[: a.limit].astype(np.int64)
        sample_weight = None

    W, b, meta = read_model(a.model)
    logistic = meta["output"] == "logistic"
    sk = LogisticRegression(C=a.C, tol=a.tol, max_iter=1000000,
                            class_weight="balanced" if a.class_weight == "balanced" else None)
    sk.fit(X, y, sample_weight=sample_weight)

    # sᵢ as scikit-learn forms them: sample weight times the class weight ("balanced" on y).
    s = np.ones(len(y)) if sample_weight is None else sample_weight.astype(np.float64)
    if a.class_weight == "balanced":
        counts = np.bincount(y, minlength=int(y.max()) + 1)
        s = s * (len(y) / (len(counts) * counts))[y]
    lam = 1.0 / (a.C * s.sum())
    W_sk, b_sk = sk.coef_, sk.intercept_
    json.dump({
        "f_softreg": objective(W, b, X, y, s, lam, logistic),
        "f_sklearn": objective(W_sk, b_sk, X, y, s, lam, logistic),
        "coef_relative": float(np.linalg.norm(W - W_sk) / np.linalg.norm(W_sk)),
        "n_iter": int(np.max(sk.n_iter_)),
    }, sys.stdout)


if __name__ == "__main__":
    main()
