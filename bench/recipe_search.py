#!/usr/bin/env python3
"""The search behind `softreg train --recipe fast` (issue 19): SGD settings on Fashion-MNIST,
each scored by its accuracy on a validation split of the *training* images (never the test set),
timed as whole commands.

    /usr/bin/python3 bench/recipe_search.py [--softreg PATH] [--budget SECONDS]
        [--grid first|second] [--seeds 1,2] [--markdown]

Every combination of the grid (GRIDS below) runs once per seed S as
    softreg train --validation-split 0.1 --seed S -q --metrics M <settings>
and its score is the mean over the seeds of the validation accuracy of its last epoch (read from
M): each seed holds out another 6,000 training images and shuffles differently, so the mean is
less the luck of one split. It runs again without
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

GRIDS = {
    # The first search (1 s budget, seed 1): broad.
    "first": {
        "--epochs": ["10", "20", "40", "60"],
        "--batch-size": ["64", "256"],
        "--lr": ["0.1", "0.3"],
        "--optimizer": ["sgd", "adagrad"],
        "--momentum": ["0", "0.9"],
        "--schedule": ["constant", "cosine"],
        "--average": ["0", "quarter"],  # quarter: from the epoch a quarter of the way in
    },
    # The second (1.5 s, seeds 1 and 2): around the first's best, averaging always on (without
    # it every setting scored lower), smaller batches, later starts of the average, weight decay.
    "second": {
        "--epochs": ["20", "30", "40"],
        "--batch-size": ["32", "64"],
        "--lr": ["0.05", "0.1", "0.2"],
        "--optimizer": ["sgd", "adagrad"],
        "--momentum": ["0", "0.9"],
        "--average": ["quarter", "half"],  # half: from the epoch half way in
        "--weight-decay": ["0", "0.0001"],
    },
}
DEFAULTS = {"--optimizer": "sgd", "--momentum": "0", "--schedule": "constant", "--average": "0",
            "--weight-decay": "0"}


def settings(grid):
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        s = dict(zip(keys, values))
        if s["--optimizer"] == "adagrad" and s["--momentum"] != "0":
            continue  # AdaGrad has no momentum
        epochs = int(s["--epochs"])
        s["--average"] = {"0": "0", "quarter": str(epochs // 4 + 1),
                          "half": str(epochs // 2 + 1)}[s["--average"]]
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
    p.add_argument("--grid", choices=sorted(GRIDS), default="first")
    p.add_argument("--seeds", default="1", help="comma-separated validation seeds")
    p.add_argument("--markdown", action="store_true")
    a = p.parse_args()
    seeds = a.seeds.split(",")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "m.csv")
        for s in settings(GRIDS[a.grid]):
            extra = args_of(s)
            scores = []
            for seed in seeds:
                r = subprocess.run([a.softreg, "train", "--validation-split", "0.1", "--seed",
                                    seed, "-q", "--metrics", metrics] + extra,
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    print("failed:", " ".join(extra), r.stderr.strip(), file=sys.stderr)
                    break
                with open(metrics) as f:
                    scores.append(float(list(csv.DictReader(f))[-1]["val_acc"]))
            if len(scores) != len(seeds):
                continue
            start = time.perf_counter()
            subprocess.run([a.softreg, "train", "-q"] + extra, check=True,
                           capture_output=True)
            wall = time.perf_counter() - start
            rows.append((sum(scores) / len(scores), wall, " ".join(extra) or "(the lesson)"))
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
