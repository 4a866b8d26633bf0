#!/usr/bin/env python3
"""The contention table of bench/compare (bench/compare --contention): each workload's time with
its default threads (one per core) against one thread, with the machine otherwise idle ("quiet")
and with one busy neighbour per core ("loaded"), side by side in one run. A ratio default / one
thread below 1 is what the threads gain; above 1, what they cost when they must share the cores.

Workloads (keys for --only in brackets); the one-thread run adds --threads 1 to a CLI command:
    lesson        [lesson]        softreg train --data FASHION --quiet (dense SGD, 10 epochs)
    recipe fast   [fast]          softreg train --data FASHION --recipe fast --quiet
    Debian text   [text]          softreg train --text DEBIAN/train.txt --test DEBIAN/test.txt --quiet
    lbfgs dense   [lbfgs-dense]   softreg train --data FASHION --solver lbfgs --limit 10000
                                  --max-iter 100 --quiet
    lbfgs sparse  [lbfgs-sparse]  softreg train --libsvm DEBIAN/train.libsvm
                                  --test DEBIAN/test.libsvm --solver lbfgs --max-iter 30 --quiet
    Python fit    [python-fit]    softreg.LogisticRegression(C=1.0, max_iter=100, n_jobs=N)
                                  .fit(X, y) on the first 10000 training images; N = -1 (every
                                  core) against N = 1
    GridSearchCV  [gridsearch]    GridSearchCV(softreg.LogisticRegression(max_iter=100),
                                  {"C": [0.1, 1.0]}, cv=3, n_jobs=J).fit(X, y) on the first 10000
                                  training images; J = 2 (the "default" column) against J = 1.
                                  The estimator's n_jobs is its default, None: one thread in each
                                  of the J worker processes (scikit-learn's meaning).
The Debian rows need the task's folder (bench/data/debian_sections.py DIR; --debian DIR) and are
left out, with a note, when it is missing. The images are Fashion-MNIST's training images, pixels
times float32 1/255.

A time is the wall time of the whole command (time.monotonic around it: starting up and loading
included) for the CLI rows, and the fit's seconds as the Python script measures them (loading and
importing excluded) for the Python rows. Runs are interleaved (one thread, then default, then one
thread, ...) so that the machine's noise falls on both alike; the table gives the medians over
--runs runs and the ratio of the medians.

The neighbours: os.cpu_count() busy loops (/usr/bin/python3 -c, at the benchmark's own niceness),
started before a row's loaded runs and killed after them. Each one also ends by itself after
NEIGHBOUR_SECONDS, or as soon as its parent is gone, so that none outlives a crashed benchmark; a
row whose loaded runs outlast them is an error. The load average (1 minute) at the end of each
row's loaded runs is in the last column. Only the standard library is used (the Python rows run
/usr/bin/python3 with numpy and scikit-learn, and PYTHONPATH=BUILD/python).

    bench/contention_table.py --build build/release --fashion DIR --debian /tmp/debian [--runs 3]
"""
import argparse
import datetime
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = "/usr/bin/python3"
NEIGHBOUR_SECONDS = 600
KEYS = ["lesson", "fast", "text", "lbfgs-dense", "lbfgs-sparse", "python-fit", "gridsearch"]

# One neighbour: spins until its deadline (argv[1] seconds from now) or until its parent is gone.
BUSY = r'''
# softreg contention_table.py busy loop (a neighbour)
import os, sys, time
deadline = time.monotonic() + float(sys.argv[1])
parent = os.getppid()
while time.monotonic() < deadline and os.getppid() == parent:
    for _ in range(100000):
        pass
'''

# A Python row: times the fit only and prints "fit seconds S".
FIT = r'''
import gzip, sys, time
import numpy as np
import softreg
what, jobs, data, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
with gzip.open(data + "/train-images-idx3-ubyte.gz", "rb") as f:
    raw = f.read(16 + n * 784)
X = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 784).astype(np.float32) * np.float32(1 / 255)
with gzip.open(data + "/train-labels-idx1-ubyte.gz", "rb") as f:
    y = np.frombuffer(f.read(8 + n), dtype=np.uint8, offset=8)
if what == "fit":
    model = softreg.LogisticRegression(C=1.0, max_iter=100, n_jobs=jobs)
else:
    from sklearn.model_selection import GridSearchCV
    model = GridSearchCV(softreg.LogisticRegression(max_iter=100), {"C": [0.1, 1.0]},
                         cv=3, n_jobs=jobs)
start = time.perf_counter()
model.fit(X, y)
print(f"fit seconds {time.perf_counter() - start:.6f}")
'''
FIT_SECONDS = re.compile(r"^fit seconds (\d+\.\d+)\s*$", re.M)


def note(message):
    print(f"contention_table: {message}", file=sys.stderr, flush=True)


class Workload:
    def __init__(self, key, name, shown, one, default, python=False):
        self.key = key  # for --only
        self.name = name  # for the table
        self.shown = shown  # the table's command column
        self.one = one  # the one-thread command
        self.default = default  # the default-threads command
        self.python = python  # the time is the fit's, printed by the script
        self.times = {}  # (condition, "one" or "default") -> seconds per run
        self.load = None  # load average at the end of the loaded runs


def workloads(args, exe):
    fashion = ["--data", args.fashion]
    text = ["--text", f"{args.debian}/train.txt", "--test", f"{args.debian}/test.txt"]
    libsvm = ["--libsvm", f"{args.debian}/train.libsvm", "--test", f"{args.debian}/test.libsvm"]
    cli = [
        ("lesson", "lesson (dense SGD)", fashion + ["--quiet"]),
        ("fast", "recipe fast", fashion + ["--recipe", "fast", "--quiet"]),
        ("text", "Debian text (sparse SGD)", text + ["--quiet"]),
        ("lbfgs-dense", "lbfgs dense", fashion + ["--solver", "lbfgs", "--limit", "10000",
                                                  "--max-iter", "100", "--quiet"]),
        ("lbfgs-sparse", "lbfgs sparse", libsvm + ["--solver", "lbfgs", "--max-iter", "30",
                                                   "--quiet"]),
    ]
    out = []
    for key, name, options in cli:
        command = [exe, "train"] + options
        shown = "softreg train " + shlex.join(options).replace(args.fashion, "$FASHION").replace(
            args.debian, "$DEBIAN") + " [--threads 1]"
        out.append(Workload(key, name, shown, command + ["--threads", "1"], command))
    script = [PYTHON, "-c", FIT]
    out.append(Workload("python-fit", "Python fit",
                        "LogisticRegression(C=1.0, max_iter=100, n_jobs=-1 [1]).fit, 10000 images",
                        script + ["fit", "1", args.fashion, "10000"],
                        script + ["fit", "-1", args.fashion, "10000"], python=True))
    out.append(Workload("gridsearch", "GridSearchCV",
                        "GridSearchCV(LogisticRegression(max_iter=100), C: 0.1, 1.0, "
                        "cv=3, n_jobs=2 [1]).fit, 10000 images",
                        script + ["grid", "1", args.fashion, "10000"],
                        script + ["grid", "2", args.fashion, "10000"], python=True))
    return out


def run(command, env, python):
    start = time.monotonic()
    r = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.monotonic() - start
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {shlex.join(command)}\n{r.stderr}")
    if not python:
        return wall
    m = FIT_SECONDS.search(r.stdout)
    if m is None:
        raise SystemExit(f"no 'fit seconds' line from {shlex.join(command)}:\n{r.stdout}")
    return float(m.group(1))


def start_neighbours():
    """One busy loop per core, at our niceness; each ends by itself after NEIGHBOUR_SECONDS."""
    neighbours = [subprocess.Popen([PYTHON, "-c", BUSY, str(NEIGHBOUR_SECONDS)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                  for _ in range(os.cpu_count() or 1)]
    time.sleep(1.0)  # let them start spinning
    return neighbours


def stop_neighbours(neighbours):
    for n in neighbours:
        if n.poll() is None:
            n.kill()
    for n in neighbours:
        n.wait()


def measure(w, args, env):
    for condition in ("quiet", "loaded"):
        neighbours = start_neighbours() if condition == "loaded" else []
        try:
            for r in range(1, args.runs + 1):
                one = run(w.one, env, w.python)
                default = run(w.default, env, w.python)
                w.times.setdefault((condition, "one"), []).append(one)
                w.times.setdefault((condition, "default"), []).append(default)
                note(f"{w.key:<13} {condition:<6} run {r}/{args.runs}: 1 thread {one:7.2f} s, "
                     f"default {default:7.2f} s")
            if neighbours:
                w.load = os.getloadavg()[0]
                if any(n.poll() is not None for n in neighbours):
                    raise SystemExit(f"{w.key}: a neighbour ended before the loaded runs did "
                                     f"(they last {NEIGHBOUR_SECONDS} s): fewer --runs")
        finally:
            stop_neighbours(neighbours)


def machine():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return model, when


def table(rows, markdown):
    head = ["workload", "command", "quiet: 1 thread s", "quiet: default s", "quiet ratio",
            "loaded: 1 thread s", "loaded: default s", "loaded ratio", "loaded: load avg"]
    cells = []
    for w in rows:
        row = [w.name, w.shown]
        for condition in ("quiet", "loaded"):
            one = statistics.median(w.times[(condition, "one")])
            default = statistics.median(w.times[(condition, "default")])
            row += [f"{one:.2f}", f"{default:.2f}", f"{default / one:.2f}"]
        row.append(f"{w.load:.2f}")
        cells.append(row)
    lines = []
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("| --- | --- |" + " ---: |" * (len(head) - 2))
        lines += ["| " + " | ".join(r[:1] + [f"`{r[1]}`"] + r[2:]) + " |" for r in cells]
    else:
        widths = [max(len(r[j]) for r in [head] + cells) for j in range(len(head))]
        for r in [head] + cells:
            lines.append("  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1])]
                                   + [c.rjust(width) for c, width in zip(r[2:], widths[2:])]))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(ROOT / "build" / "release"))
    p.add_argument("--fashion", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--debian", default="/tmp/debian",
                   help="the Debian task's folder (bench/data/debian_sections.py OUT)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", help="comma-separated workloads to run: " + ",".join(KEYS))
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args()
    # A SIGTERM ends us through the finally blocks, which end the neighbours.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    wanted = KEYS
    if args.only:
        wanted = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in wanted if k not in KEYS]
        if unknown:
            raise SystemExit(f"--only: unknown workload {', '.join(unknown)} "
                             f"(known: {', '.join(KEYS)})")
    build = Path(args.build).resolve()
    args.fashion = str(Path(args.fashion).resolve())
    args.debian = str(Path(args.debian).resolve())
    exe = str(build / "tools" / "softreg" / "softreg")
    if not Path(exe).exists():
        raise SystemExit(f"no {exe}: build softreg_cli in {build}")
    if not Path(args.fashion).is_dir():
        raise SystemExit(f"--fashion {args.fashion}: no such folder")
    if any(k in wanted for k in ("python-fit", "gridsearch")) and not any(
            (build / "python" / "softreg").glob("_core*.so")):
        raise SystemExit(f"no {build}/python/softreg/_core*.so: build softreg_python in {build}")
    notes = []
    debian_files = ("train.txt", "test.txt", "train.libsvm", "test.libsvm")
    if not all((Path(args.debian) / f).exists() for f in debian_files):
        skipped = [k for k in ("text", "lbfgs-sparse") if k in wanted]
        if skipped:
            notes.append(f"left out: {', '.join(skipped)} (no Debian task in {args.debian}: "
                         f"bench/data/debian_sections.py {args.debian} writes it)")
            note(notes[-1])
            wanted = [k for k in wanted if k not in skipped]
    rows = [w for w in workloads(args, exe) if w.key in wanted]
    # (max_iter ends some fits: their ConvergenceWarning, also from joblib's workers, is not news)
    env = dict(os.environ, PYTHONPATH=str(build / "python"), PYTHONWARNINGS="ignore")

    model, when = machine()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    start = time.monotonic()
    for w in rows:
        measure(w, args, env)
    elapsed = time.monotonic() - start

    md = args.markdown
    facts = [
        f"machine: {model}, os.cpu_count() {os.cpu_count()}; {platform.system()} "
        f"{platform.release()}",
        f"date: {when}; load average {load_before} before the runs",
        f"command: {shlex.join([sys.executable] + sys.argv)}",
        f"FASHION={args.fashion}  DEBIAN={args.debian}  softreg={exe}",
        f"{args.runs} run(s) per column, interleaved (1 thread, default, 1 thread, ...); "
        f"loaded: {os.cpu_count()} busy loops, one per core; the run took {elapsed:.0f} s",
    ] + notes
    out = [f"- {f}" for f in facts] if md else facts
    out += ["", table(rows, md), ""]
    out.append("s: median seconds, the whole command's wall time (CLI) or the fit's (Python); "
               "ratio: default / 1 thread\n(below 1: the threads gain; above 1: they cost). "
               "load avg: 1 minute, at the end of the loaded runs.")
    out.append("")
    out.append("commands (default threads; the 1-thread run adds --threads 1, or gives the "
               "Python script 1 for -1 or 2;\nFIT: the script in bench/contention_table.py):")
    if md:
        out += ["", "```"]
    for w in rows:
        if w.python:  # FIT: the script in bench/contention_table.py
            out.append(f"  PYTHONPATH={env['PYTHONPATH']} "
                       f"{shlex.join(w.default[:2] + ['FIT'] + w.default[3:])}")
        else:
            out.append(f"  {shlex.join(w.default)}")
    if md:
        out.append("```")
    print("\n".join(out))


if __name__ == "__main__":
    main()
