#!/usr/bin/env python3
"""The full-batch peers of bench/solver_table.py: scikit-learn's LogisticRegression (lbfgs) and
PyTorch's torch.optim.LBFGS on the whole training set, minimising the objective of
docs/objective.md at a given C. Prints one JSON object.

    solver_peers.py sklearn (--fashion DIR | --csv FILE --test FILE) --C C --tol TOL
    solver_peers.py torch   (--fashion DIR | --csv FILE --test FILE) --C C --tol TOL
                            --target F [--max-iter N] [--max-seconds S] [--threads T]

The features are the ones softreg reads: Fashion-MNIST's pixels times float32 1/255, a table's
values as written (bench/solver_table.py writes the exact decimals of softreg's floats; the last
column is the label). The output: seconds (to the end, or for torch to the first iterate whose
objective is at most --target), iterations, the objective at the end, the test accuracy. torch
gives up after --max-seconds (its L-BFGS takes as many iterations as scikit-learn's, each slower):
its row then says "not reached" with the objective where it stopped.

Run with Debian's python3 (/usr/bin/python3: python3-sklearn, python3-torch, python3-numpy).
"""
import argparse
import csv
import gzip
import json
import struct
import sys
import time

import numpy as np


def read_idx(path):
    raw = gzip.decompress(open(path, "rb").read())
    ndims = raw[3]
    dims = struct.unpack(">" + "I" * ndims, raw[4 : 4 + 4 * ndims])
    return np.frombuffer(raw[4 + 4 * ndims :], dtype=np.uint8).reshape(dims)


def load(a):
    if a.fashion:
        scale = np.float64(np.float32(1.0 / 255.0))
        X = read_idx(a.fashion + "/train-images-idx3-ubyte.gz").reshape(60000, -1) * scale
        y = read_idx(a.fashion + "/train-labels-idx1-ubyte.gz").astype(np.int64)
        Xt = read_idx(a.fashion + "/t10k-images-idx3-ubyte.gz").reshape(10000, -1) * scale
        yt = read_idx(a.fashion + "/t10k-labels-idx1-ubyte.gz").astype(np.int64)
        return X, y, Xt, yt

    def table(path):
        with open(path, newline="") as f:
            rows = list(csv.reader(f))[1:]
        return np.array([[float(v) for v in r[:-1]] for r in rows]), [r[-1] for r in rows]

    X, labels = table(a.csv)
    Xt, test_labels = table(a.test)
    classes = sorted(set(labels))
    return (X, np.array([classes.index(l) for l in labels]), Xt,
            np.array([classes.index(l) for l in test_labels]))


def objective(W, b, X, y, lam):
    """F of docs/objective.md with every weight 1: the mean loss plus (λ/2)‖W‖²."""
    if W.shape[0] == 1:
        z = X @ W[0] + b[0]
        loss = np.logaddexp(0.0, z) - y * z
    else:
        o = X @ W.T + b
        m = o.max(axis=1, keepdims=True)
        loss = m[:, 0] + np.log(np.exp(o - m).sum(axis=1)) - o[np.arange(len(y)), y]
    return float(loss.mean() + 0.5 * lam * (W * W).sum())


def accuracy(W, b, X, y):
    o = X @ W.T + b
    predicted = (o[:, 0] > 0).astype(np.int64) if W.shape[0] == 1 else o.argmax(axis=1)
    return float((predicted == y).mean())


def sklearn(a, X, y, Xt, yt):
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    m = LogisticRegression(C=a.C, tol=a.tol, max_iter=100000).fit(X, y)
    seconds = time.perf_counter() - start
    lam = 1.0 / (a.C * len(y))
    return {"seconds": seconds, "iterations": int(np.max(m.n_iter_)),
            "objective": objective(m.coef_, m.intercept_, X, y, lam),
            "test_accuracy": accuracy(m.coef_, m.intercept_, Xt, yt)}


def torch_lbfgs(a, X, y, Xt, yt):
    import torch

    torch.set_num_threads(a.threads)
    Xs, ys = torch.from_numpy(X), torch.from_numpy(y)
    k = int(y.max()) + 1
    binary = k == 2 and a.binary
    rows = 1 if binary else k
    W = torch.zeros(rows, X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(rows, dtype=torch.float64, requires_grad=True)
    lam = 1.0 / (a.C * len(y))
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=1, history_size=10,
                            line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)

    def f():
        z = Xs @ W.T + b
        if binary:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(z[:, 0], ys.double())
        else:
            loss = torch.nn.functional.cross_entropy(z, ys)
        return loss + 0.5 * lam * (W * W).sum()

    def closure():
        opt.zero_grad()
        value = f()
        value.backward()
        return value

    start = time.perf_counter()
    reached, iterations, value = None, 0, float("inf")
    for iterations in range(1, a.max_iter + 1):
        opt.step(closure)  # one L-BFGS iteration, its line search included
        with torch.no_grad():
            value = float(f())
        # scikit-learn's test on the sum's gradient, as softreg's --tol
        grad = max(float(W.grad.abs().max()), float(b.grad.abs().max())) * len(y)
        if reached is None and value <= a.target:
            reached = time.perf_counter() - start
        if grad <= a.tol or reached is not None or time.perf_counter() - start > a.max_seconds:
            break
    Wn, bn = W.detach().numpy(), b.detach().numpy()
    return {"seconds": reached if reached is not None else time.perf_counter() - start,
            "reached": reached is not None, "iterations": iterations,
            "objective": objective(Wn, bn, X, y, lam), "test_accuracy": accuracy(Wn, bn, Xt, yt)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("peer", choices=["sklearn", "torch"])
    p.add_argument("--fashion")
    p.add_argument("--csv")
    p.add_argument("--test")
    p.add_argument("--binary", action="store_true", help="a one-row (logistic) model")
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--target", type=float, default=-float("inf"))
    p.add_argument("--max-iter", type=int, default=100000)
    p.add_argument("--max-seconds", type=float, default=float("inf"))
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    data = load(a)
    json.dump((sklearn if a.peer == "sklearn" else torch_lbfgs)(a, *data), sys.stdout)


if __name__ == "__main__":
    main()
