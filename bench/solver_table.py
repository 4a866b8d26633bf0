#!/usr/bin/env python3
"""The solver table of bench/compare (bench/compare --solvers): the regularised optimum of
docs/objective.md at C = 1, reached by softreg's lbfgs and newton, scikit-learn's
LogisticRegression (lbfgs) and PyTorch's full-batch torch.optim.LBFGS, side by side in one run,
on Fashion-MNIST (pixels times float32 1/255, the features softreg reads) and on a table
(breast_cancer.csv, standardised, a one-row logistic model).

scikit-learn runs first at tol 1e-4 and its final objective is the target. For each system the
table gives the seconds to reach that objective (softreg: the first iteration whose objective is
at most the target, from its --metrics file; PyTorch: likewise, from its own loop), that time as
a multiple of softreg newton's, the final objective, the iterations, the test accuracy and the
peak resident memory (GNU time). softreg runs to the same --tol 1e-4 (scikit-learn's test).
"""
import csv
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GNU_TIME = "/usr/bin/time"
PYTHON = "/usr/bin/python3"
PEERS = ROOT / "bench" / "peers" / "solver_peers.py"
TORCH_SECONDS = 600  # PyTorch's LBFGS gives up here: 10 minutes, about scikit-learn's time


def peak_mb(time_file):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", Path(time_file).read_text())
    return int(m.group(1)) / 1024 if m else float("nan")


def timed(command, scratch, name):
    time_file = Path(scratch) / f"{name}.time"
    r = subprocess.run([GNU_TIME, "-v", "-o", str(time_file)] + command, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-3000:] + r.stderr[-3000:])
        sys.exit(f"solver_table: {name} failed (exit {r.returncode}): {' '.join(command)}")
    return r.stdout, peak_mb(time_file)


def exact_table(scratch):
    """breast_cancer.csv standardised (population std), each value rounded to float32 and written
    as its exact decimal; every fifth row to the test file."""
    import numpy as np
    with open(ROOT / "tests" / "data" / "breast_cancer.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    X = np.array([[float(v) for v in r[:-1]] for r in body])
    train = [i for i in range(len(body)) if i % 5 != 4]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    Z = ((X - mean) / std).astype(np.float32)
    paths = []
    for name, keep in (("train", lambda i: i % 5 != 4), ("test", lambda i: i % 5 == 4)):
        path = Path(scratch) / f"cancer-{name}.csv"
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for i, r in enumerate(body):
                if keep(i):
                    w.writerow([repr(float(v)) for v in Z[i]] + [r[-1]])
        paths.append(path)
    return paths


def softreg_run(softreg, data_args, solver, target, scratch, name):
    metrics = Path(scratch) / f"{name}.csv"
    out, mb = timed([str(softreg), "train"] + data_args +
                    ["--solver", solver, "--C", "1", "--tol", "1e-4", "--max-iter", "100000",
                     "--threads", "2", "-q", "--metrics", str(metrics)], scratch, name)
    m = re.search(r"objective (\S+)  iterations (\d+)  (converged|not converged)  train acc \S+  "
                  r"test acc (\S+)", out)
    if m is None:
        sys.exit(f"solver_table: no summary line from softreg {solver}:\n{out}")
    elapsed, reached = 0.0, None
    with open(metrics, newline="") as f:
        for row in csv.DictReader(f):
            elapsed += float(row["seconds"])
            if reached is None and float(row["objective"]) <= target:
                reached = elapsed
    return {"seconds": reached, "iterations": int(m.group(2)), "objective": float(m.group(1)),
            "test_accuracy": float(m.group(4)), "mb": mb, "converged": m.group(3) == "converged"}


def peer_run(peer, data_args, scratch, name, extra=()):
    out, mb = timed([PYTHON, str(PEERS), peer] + data_args + list(extra), scratch, name)
    r = json.loads(out)
    r["mb"] = mb
    return r


def table(title, rows):
    base = next(r for n, r in rows if n == "softreg newton")["seconds"]
    print(f"\n{title}\n")
    print("| system | seconds to scikit-learn's objective | vs softreg newton | objective | "
          "iterations | test acc | peak MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows:
        s = r.get("seconds") if r.get("reached", True) else None
        shown = ((f"{s:.2f}" if s >= 1 else f"{s:.4f}") if s is not None else "not reached" if r.get("seconds") is None
                 else f"not reached in {r['seconds']:.0f}")
        times = f"{s / base:.1f}x" if s is not None and base else "-"
        print(f"| {name} | {shown} | {times} | {r['objective']:.10f} | {r['iterations']} | "
              f"{r['test_accuracy']:.4f} | {r['mb']:.0f} |")


def main():
    build = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "release"
    data = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
    softreg = build / "tools" / "softreg" / "softreg"
    print(f"# softreg solvers, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{platform.processor() or platform.machine()}, 2 threads where a system takes them")
    with tempfile.TemporaryDirectory(prefix="softreg-solvers-") as scratch:
        train, test = exact_table(scratch)
        sets = [("Fashion-MNIST, 60000 x 784, 10 classes, C = 1",
                 ["--data", data], ["--fashion", data], []),
                ("breast_cancer.csv standardised, 456 x 30, logistic, C = 1",
                 ["--csv", str(train), "--test", str(test), "--model", "logistic"],
                 ["--csv", str(train), "--test", str(test), "--binary"], [])]
        for title, ours, theirs, _ in sets:
            sk = peer_run("sklearn", theirs + ["--C", "1", "--tol", "1e-4"], scratch, "sklearn")
            target = sk["objective"]
            rows = [("scikit-learn lbfgs", sk)]
            for solver in ("newton", "lbfgs"):
                rows.append((f"softreg {solver}",
                             softreg_run(softreg, ours, solver, target, scratch, solver)))
            rows.append(("PyTorch LBFGS (float64)",
                         peer_run("torch", theirs + ["--C", "1", "--tol", "1e-4", "--target",
                                                     repr(target), "--threads", "2",
                                                     "--max-seconds", str(TORCH_SECONDS)],
                                  scratch, "torch")))
            table(title, rows)


if __name__ == "__main__":
    main()
