#!/usr/bin/env python3
"""The search behind `softreg train --recipe fast` (issue 19): SGD settings on Fashion-MNIST,
each scored by its accuracy on a validation split of the *training* images (never the test set),
timed as whole commands.

    /usr/bin/python3 bench/recipe_search.py [--softreg PATH] [--budget SECONDS] [--out FILE]

Every combination of the grid below runs once as
    softreg train --validation-split 0.1 --seed 1 -q --metrics M <settings>
and its score is the validation accuracy of its last epoch (read from M). It runs again without
the validation split to time the command as a user would run it (wall seconds, loading
included). The recipe is the best-scoring setting whose command takes at most --budget seconds
(default 1.0), ties going to the faster. Prints one line per setting, then the choice, as a
Markdown table with --markdown. Only the standard library is used.
"""
import argparse
import csv
import itertools
import os
import subprocess
import sys
import tempfile
import time

GRID = {
    "--epochs": ["10", "20", "40", "60"],
    "--batch-size": ["64", "256"],
    "--lr": ["0.1", "0.3"],
    "--optimizer": ["sgd", "adagrad"],
    "--momentum": ["0", "0.9"],
    "--schedule": ["constant", "cosine"],
    "--average": ["0", "quarter"],  # quarter: from the epoch a quarter of the way in
}
DEFAULTS = {"--optimizer": "sgd", "--momentum": "0", "--schedule": "constant", "--average": "0"}


def settings():
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        s = dict(zip(keys, values))
        if s["--optimizer"] == "adagrad" and s["--momentum"] != "0":
            continue  # AdaGrad has no momentum
        epochs = int(s["--epochs"])
        s["--average"] = "0" if s["--average"] == "0" else str(epochs // 4 + 1)
        yield s


def args_of(s):
    out = []
    for k, v in s.items():
        if DEFAULTS.get(k) == v:
            continue
        out += [k, v]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--softreg", default="build/release/tools/softreg/softreg")
    p.add_argument("--budget", type=float, default=1.0)
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "m.csv")
        for s in settings():
            extra = args_of(s)
            r = subprocess.run([a.softreg, "train", "--validation-split", "0.1", "--seed", "1",
                                "-q", "--metrics", metrics] + extra,
                               capture_output=True, text=True)
            if r.returncode != 0:
                print("failed:", " ".join(extra), r.stderr.strip(), file=sys.stderr)
                continue
            with open(metrics) as f:
                last = list(csv.DictReader(f))[-1]
            start = time.perf_counter()
            subprocess.run([a.softreg, "train", "-q"] + extra, check=True,
                           capture_output=True)
            wall = time.perf_counter() - start
            rows.append((float(last["val_acc"]), wall, " ".join(extra) or "(the lesson)"))
            print(f"val acc {rows[-1][0]:.4f}  {wall:5.2f} s  {rows[-1][2]}", flush=True)
    fit = [r for r in rows if r[1] <= a.budget]
    best = max(fit, key=lambda r: (r[0], -r[1]))
    top = sorted(rows, key=lambda r: (-r[0], r[1]))[:10]
    print()
    print(f"{len(rows)} settings; the best within {a.budget} s: {best[2]} "
          f"(validation accuracy {best[0]:.4f}, {best[1]:.2f} s)")
    if a.markdown:
        print("\n| validation accuracy | wall s | settings |\n| --- | --- | --- |")
        for r in top:
            print(f"| {r[0]:.4f} | {r[1]:.2f} | `{r[2]}` |")


if __name__ == "__main__":
    main()
