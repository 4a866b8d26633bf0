#!/usr/bin/env python3
"""Sparse data for scale (issue 18): a planted linear model written as LIBSVM.

    bench/data/synthetic_libsvm.py OUT.libsvm --rows N --features D --nnz Z --classes K
                                   [--noise P] [--seed S]

    bench/data/synthetic_libsvm.py big.libsvm --rows 1000000 --features 1000000 --nnz 50 \\
        --classes 10 --noise 0.1

The model: W, K x D, every entry standard normal (drawn once from the seed). Each row has Z
distinct columns drawn uniformly from 1..D and a value uniform on the multiples of 10^-6 in
(0, 1] at each; its label is
argmax_k (W x)_k, then with probability P replaced by a class drawn uniformly (so the best
accuracy any model can reach is about 1 - P (K - 1) / K). Rows are written in blocks of 10,000,
columns ascending; memory stays at W (4 bytes x K x D) plus a
block. Needs numpy (Debian's python3-numpy; run with /usr/bin/python3).
"""
import argparse
import sys

import numpy as np

BLOCK = 10_000


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--features", type=int, required=True)
    p.add_argument("--nnz", type=int, required=True, help="stored values per row")
    p.add_argument("--classes", type=int, required=True)
    p.add_argument("--noise", type=float, default=0.0, help="probability of a random label")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.rows < 1 or a.features < 1 or a.classes < 2 or not 1 <= a.nnz <= a.features:
        sys.exit("synthetic_libsvm: need rows >= 1, classes >= 2 and 1 <= nnz <= features")
    if not 0 <= a.noise <= 1:
        sys.exit("synthetic_libsvm: --noise is a probability")
    rng = np.random.default_rng(a.seed)
    W = rng.standard_normal((a.features, a.classes), dtype=np.float32)  # W transposed
    with open(a.out, "w") as out:
        for start in range(0, a.rows, BLOCK):
            n = min(BLOCK, a.rows - start)
            if a.nnz * 4 <= a.features:
                # With replacement, then the rare repeats redrawn until every row is distinct.
                cols = rng.integers(0, a.features, size=(n, a.nnz))
                cols.sort(axis=1)
                while True:
                    bad = np.nonzero((cols[:, 1:] == cols[:, :-1]).any(axis=1))[0]
                    if len(bad) == 0:
                        break
                    cols[bad] = rng.integers(0, a.features, size=(len(bad), a.nnz))
                    cols[bad] = np.sort(cols[bad], axis=1)
            else:
                cols = np.sort(np.argsort(rng.random((n, a.features)), axis=1)[:, :a.nnz], axis=1)
            # Multiples of 1e-6 in (0, 1]: written exactly as "%.6g" prints them, so the label
            # is the planted model's on the very values in the file.
            values = rng.integers(1, 1_000_001, size=(n, a.nnz)) / 1e6
            logits = np.einsum("nz,nzk->nk", values, W[cols], dtype=np.float64)
            labels = logits.argmax(axis=1)
            flip = rng.random(n) < a.noise
            labels[flip] = rng.integers(0, a.classes, size=int(flip.sum()))
            lines = []
            for i in range(n):
                lines.append(str(labels[i]) + "".join(
                    f" {c + 1}:{v:.6g}" for c, v in zip(cols[i].tolist(), values[i].tolist())))
            out.write("\n".join(lines) + "\n")
    print(f"synthetic_libsvm: {a.rows} rows x {a.features} features, {a.nnz} values a row, "
          f"{a.classes} classes, noise {a.noise}, in {a.out}")


if __name__ == "__main__":
    main()
