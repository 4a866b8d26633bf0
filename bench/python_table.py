#!/usr/bin/env python3
"""The Python table of bench/compare (bench/compare --python-table): softreg.LogisticRegression
against sklearn.linear_model.LogisticRegression, the same C and tol, side by side in one run, on
Fashion-MNIST (pixels times float32 1/255) and on the Debian text task as LIBSVM rows (the
features `softreg train --text` makes, written by bench/data/debian_sections.py).

Systems: softreg's lbfgs (the default) and newton, and scikit-learn's default lbfgs, all with
max_iter 1000. Each fit runs in its own process under GNU time (peak memory); the table gives the fit seconds
(measured inside the process, loading excluded), the objective C Σ loss + ½‖W‖² of the fitted
model computed the same way for both, the test accuracy and the peak resident memory; and for
softreg, the seconds its fit took to reach scikit-learn's final objective (the fit's seconds less
the solver's time after the first iteration at or below it, from softreg's history_).

    /usr/bin/python3 bench/python_table.py --build build/release [--data DIR] [--C 1] [--tol 1e-4]
"""
import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"

CHILD = r'''
import gzip, json, sys, time
import numpy as np
from sklearn.datasets import load_svmlight_file
task, system, C, tol, data = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]

def idx(path):
    raw = gzip.open(path, "rb").read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

if task == "fashion":
    X = idx(data + "/train-images-idx3-ubyte.gz").reshape(60000, -1).astype(np.float32) * np.float32(1 / 255)
    y = idx(data + "/train-labels-idx1-ubyte.gz")
    Xt = idx(data + "/t10k-images-idx3-ubyte.gz").reshape(10000, -1).astype(np.float32) * np.float32(1 / 255)
    yt = idx(data + "/t10k-labels-idx1-ubyte.gz")
else:
    X, y = load_svmlight_file(data + "/train.libsvm", dtype=np.float32)
    Xt, yt = load_svmlight_file(data + "/test.libsvm", dtype=np.float32, n_features=X.shape[1])
if system.startswith("softreg"):
    from softreg import LogisticRegression
    clf = LogisticRegression(C=C, tol=tol, max_iter=1000,
                             solver="newton" if system == "softreg-newton" else "lbfgs")
else:
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(C=C, tol=tol, max_iter=1000)
start = time.perf_counter()
clf.fit(X, y)
seconds = time.perf_counter() - start
z = clf.decision_function(X)
if z.ndim == 1:
    z = np.stack([np.zeros_like(z), z], axis=1)
z = z - z.max(axis=1, keepdims=True)
logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
index = np.searchsorted(clf.classes_, y)
objective = C * -logp[np.arange(len(y)), index].sum() + 0.5 * float((clf.coef_ ** 2).sum())
out = {"seconds": seconds, "objective": objective, "accuracy": clf.score(Xt, yt),
       "iterations": int(np.max(clf.n_iter_))}
if system.startswith("softreg"):
    # Every iteration's F (the mean-scaled objective) in scikit-learn's units, C n F, and the
    # seconds since the solver started.
    out["path"] = [C * len(y) * float(f) for f in clf.history_["objective"]]
    out["path_seconds"] = [float(t) for t in clf.history_["seconds"]]
print(json.dumps(out))
'''


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=str(ROOT / "build" / "release"))
    p.add_argument("--fashion", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--data", help="a folder with debian/{train,test}.libsvm (else written here)")
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--systems", default="softreg,softreg-newton,scikit-learn",
                   help="comma-separated: softreg (lbfgs), softreg-newton, scikit-learn")
    p.add_argument("--tasks", default="fashion,debian")
    a = p.parse_args()
    env = {"PYTHONPATH": str(Path(a.build) / "python"), "PATH": "/usr/bin:/bin"}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        debian = Path(a.data) / "debian" if a.data else Path(scratch) / "debian"
        if not (debian / "train.libsvm").exists():
            subprocess.run([PYTHON, str(ROOT / "bench/data/debian_sections.py"), str(debian)],
                           check=True)
        for task, data in (("fashion", a.fashion), ("debian", str(debian))):
            if task not in a.tasks.split(","):
                continue
            for system in a.systems.split(","):
                time_file = Path(scratch) / "time.txt"
                r = subprocess.run(["/usr/bin/time", "-v", "-o", str(time_file), PYTHON, "-c",
                                    CHILD, task, system, str(a.C), str(a.tol), data],
                                   capture_output=True, text=True, env=env)
                if r.returncode != 0:
                    sys.exit(f"{task} {system} failed: {r.stderr[-2000:]}")
                out = json.loads(r.stdout.strip().splitlines()[-1])
                m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_file.read_text())
                out["peak_mb"] = int(m.group(1)) / 1024
                rows.append((task, system, out))
                print(f"{task:8} {system:13} {out['seconds']:8.2f} s  objective "
                      f"{out['objective']:.6f}  acc {out['accuracy']:.4f}  "
                      f"{out['iterations']} it  {out['peak_mb']:.0f} MB", file=sys.stderr)
    print(f"\n| task | system | fit s | × softreg's | objective (C = {a.C:g}) | iterations | "
          "test accuracy | peak MB | s to scikit-learn's objective | scikit-learn's s ÷ that |"
          "\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = {}
    sklearn = {task: out for task, system, out in rows if system == "scikit-learn"}
    for task, system, out in rows:
        base.setdefault(task, out["seconds"])
        solver = "newton" if system == "softreg-newton" else "lbfgs"
        who = "softreg" if system.startswith("softreg") else system
        reach = ratio = "-"
        if "path" in out and task in sklearn:
            target = sklearn[task]["objective"]
            hit = next((i for i, f in enumerate(out["path"]) if f <= target), None)
            if hit is None:
                reach = "not reached"
            else:
                t = out["seconds"] - (out["path_seconds"][-1] - out["path_seconds"][hit])
                reach = f"{t:.2f} (iteration {hit + 1})"
                ratio = f"{sklearn[task]['seconds'] / t:.1f}"
        print(f"| {task} | {who} LogisticRegression(C={a.C:g}, tol={a.tol:g}, solver={solver}) | "
              f"{out['seconds']:.2f} | {out['seconds'] / base[task]:.1f} | "
              f"{out['objective']:.6f} | {out['iterations']} | {out['accuracy']:.4f} | "
              f"{out['peak_mb']:.0f} | {reach} | {ratio} |")


if __name__ == "__main__":
    main()
