#!/usr/bin/env python3
"""The sparse/text table of bench/compare (bench/compare --sparse): softreg against liblinear
(Debian's liblinear-tools, `liblinear-train -s 0`), fastText (Debian's fasttext, defaults and
`-wordNgrams 2 -epoch 25 -lr 0.5`) and scikit-learn on scipy.sparse, side by side in one run:
test accuracy, wall seconds (the whole command: reading the files, training, testing) and peak
resident memory (GNU time).

Data sets, written by bench/data/ into the scratch folder unless --data gives a folder that has
them:
  - the Debian task (bench/data/debian_sections.py): package descriptions -> Section, as text
    (fastText's format) for softreg --text and fastText, and as LIBSVM (uni+bigrams of the
    training vocabulary) for softreg --libsvm, liblinear and scikit-learn;
  - a planted-model synthetic set (bench/data/synthetic_libsvm.py), --synthetic ROWSxFEATURES
    (default 100000x1000000, 50 stored values a row, 20 classes; the issue's 1Mx1M with
    --synthetic 1000000x1000000, where scikit-learn is left out).
"""
import argparse
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

SKLEARN = r"""
import sys, time
from sklearn.datasets import load_svmlight_files
from sklearn.linear_model import LogisticRegression
Xtr, ytr, Xte, yte = load_svmlight_files([sys.argv[1], sys.argv[2]])
m = LogisticRegression(C=1.0, max_iter=100, tol=1e-4).fit(Xtr, ytr)
print("accuracy %.6f" % m.score(Xte, yte))
"""


def timed(command, scratch, name):
    tf = Path(scratch) / f"{name}.time"
    start = time.monotonic()
    r = subprocess.run([GNU_TIME, "-v", "-o", str(tf)] + command, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    if r.returncode != 0:
        sys.exit(f"{name} failed ({r.returncode}): {' '.join(command)}\n{r.stderr[-2000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read_text())
    return r.stdout + r.stderr, wall, int(m.group(1)) / 1024 if m else float("nan")


def softreg_acc(out):
    m = re.findall(r"test acc (\d\.\d+)", out)
    return float(m[-1])


def liblinear(train, test, scratch, name):
    model = Path(scratch) / f"{name}.model"
    _, wall, mb = timed(["liblinear-train", "-s", "0", "-q", str(train), str(model)], scratch, name)
    out, wall2, mb2 = timed(["liblinear-predict", str(test), str(model), "/dev/null"], scratch,
                            name + "-predict")
    acc = float(re.search(r"Accuracy = ([\d.]+)%", out).group(1)) / 100
    return acc, wall + wall2, max(mb, mb2)


def fasttext(train, test, scratch, name, extra):
    out_base = Path(scratch) / name
    _, wall, mb = timed(["fasttext", "supervised", "-input", str(train), "-output", str(out_base),
                         "-verbose", "0"] + extra, scratch, name)
    out, wall2, mb2 = timed(["fasttext", "test", str(out_base) + ".bin", str(test)], scratch,
                            name + "-test")
    acc = float(re.search(r"P@1\s+([\d.]+)", out).group(1))
    return acc, wall + wall2, max(mb, mb2)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--softreg", default=str(ROOT / "build/release/tools/softreg/softreg"))
    p.add_argument("--data", help="a folder holding debian/ and synthetic files from earlier runs")
    p.add_argument("--synthetic", default="100000x1000000", help="ROWSxFEATURES, or 'none'")
    p.add_argument("--no-sklearn", action="store_true", help="leave scikit-learn out")
    args = p.parse_args()
    sr = args.softreg
    scratch = tempfile.mkdtemp(prefix="softreg-sparse-")
    data = Path(args.data) if args.data else Path(scratch)
    deb = data / "debian"
    if not (deb / "train.txt").exists():
        subprocess.run([PYTHON, str(ROOT / "bench/data/debian_sections.py"), str(deb)], check=True)
    rows = []  # (task, system, accuracy, wall, peak MB)

    def add(task, system, result):
        rows.append((task, system) + tuple(result))
        print(f"  {task:10s} {system:44s} acc {result[0]:.4f}  {result[1]:7.2f} s  "
              f"{result[2]:7.0f} MB", file=sys.stderr, flush=True)

    def softreg(task, system, cmd):
        out, wall, mb = timed([sr, "train"] + cmd + ["-q"], scratch, system.replace(" ", "_"))
        add(task, system, (softreg_acc(out), wall, mb))

    t, s = deb / "train.txt", deb / "test.txt"
    ts, ss = deb / "train.libsvm", deb / "test.libsvm"
    softreg("debian", "softreg train --text (defaults)", ["--text", str(t), "--test", str(s)])
    softreg("debian", "softreg train --libsvm --solver sgd", ["--libsvm", str(ts), "--test",
            str(ss), "--solver", "sgd", "--lr", "5", "--schedule", "linear", "--epochs", "10"])
    softreg("debian", "softreg train --libsvm --solver newton --C 1",
            ["--libsvm", str(ts), "--test", str(ss), "--solver", "newton", "--C", "1"])
    add("debian", "liblinear-train -s 0", liblinear(ts, ss, scratch, "liblinear"))
    add("debian", "fasttext supervised (defaults)", fasttext(t, s, scratch, "ft-default", []))
    add("debian", "fasttext -wordNgrams 2 -epoch 25 -lr 0.5",
        fasttext(t, s, scratch, "ft-tuned", ["-wordNgrams", "2", "-epoch", "25", "-lr", "0.5"]))
    if not args.no_sklearn:
        out, wall, mb = timed([PYTHON, "-c", SKLEARN, str(ts), str(ss)], scratch, "sklearn")
        add("debian", "scikit-learn LogisticRegression(C=1)",
            (float(re.search(r"accuracy ([\d.]+)", out).group(1)), wall, mb))

    if args.synthetic != "none":
        n, d = (int(v) for v in args.synthetic.split("x"))
        syn = data / f"synthetic-{n}x{d}"
        if not (syn / "train.svm").exists():
            # One planted model for both parts: one file of n + m rows, cut into train and test.
            syn.mkdir(parents=True, exist_ok=True)
            m = max(n // 10, 1000)
            subprocess.run([PYTHON, str(ROOT / "bench/data/synthetic_libsvm.py"),
                            str(syn / "all.svm"), "--rows", str(n + m), "--features", str(d),
                            "--nnz", "50", "--classes", "20", "--noise", "0.05", "--seed", "1"],
                           check=True)
            with open(syn / "all.svm") as f, open(syn / "train.svm", "w") as a, \
                    open(syn / "test.svm", "w") as b:
                for i, line in enumerate(f):
                    (a if i < n else b).write(line)
            (syn / "all.svm").unlink()
        ts, ss = syn / "train.svm", syn / "test.svm"
        task = f"{n // 1000}k x {d // 1000}k"
        softreg(task, "softreg train --libsvm --solver sgd", ["--libsvm", str(ts), "--test",
                str(ss), "--solver", "sgd", "--lr", "5", "--schedule", "linear", "--epochs", "5"])
        softreg(task, "softreg train --libsvm (lbfgs, C 1)", ["--libsvm", str(ts), "--test",
                str(ss), "--max-iter", "50"])
        add(task, "liblinear-train -s 0", liblinear(ts, ss, scratch, "liblinear-syn"))
        if not args.no_sklearn and n <= 20000:
            out, wall, mb = timed([PYTHON, "-c", SKLEARN, str(ts), str(ss)], scratch, "sk-syn")
            add(task, "scikit-learn LogisticRegression(C=1)",
                (float(re.search(r"accuracy ([\d.]+)", out).group(1)), wall, mb))

    base = {}
    for task, system, acc, wall, mb in rows:
        if system.startswith("softreg train --text") or (task not in base and "sgd" in system):
            base.setdefault(task, wall)
    print(f"\nsparse/text table, {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, "
          f"{platform.processor() or platform.machine()}; softreg {sr}\n")
    print("| task | system | test accuracy | wall s | × softreg's | peak MB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for task, system, acc, wall, mb in rows:
        print(f"| {task} | {system} | {acc:.4f} | {wall:.2f} | {wall / base[task]:.1f} | "
              f"{mb:.0f} |")
    print(f"\nwall: the whole command (reading, training, testing; liblinear and fastText: train "
          f"plus predict/test); × softreg's: against the task's first softreg row.")


if __name__ == "__main__":
    main()
