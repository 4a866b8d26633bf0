#!/usr/bin/env python3
"""The scaling table of bench/compare (bench/compare --scaling): softreg train --solver lbfgs, and
SGD, in P processes (mpirun -np P, one thread each) against one process, side by side in one run,
on Fashion-MNIST and on the Debian text task, with a fixed number of iterations (--tol 1e-30, so
that every run does the same work) or epochs.

Runs are interleaved (each configuration once, then again, ...) so that the machine's noise falls
on all alike; the table gives the median over the runs of the seconds an iteration (the fit's
seconds as softreg prints them, over its iterations), the speedup against one process with one
thread, the median wall time of the whole command (loading included) and whether the model file's
bytes are the one-process model's (they must be, but for SGD on sparse rows, which averages local
epochs and so depends on P: docs/cli.md, "Across processes").

This machine has two cores: P = 4 runs four processes on them (mpirun --oversubscribe), which
measures the cost of the exchange, not a speedup. Only the standard library is used.

    bench/scaling_table.py --build build/release --fashion DIR --debian /tmp/debian [--runs 3]
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"^trained lbfgs on \d+ \S+ in (\d+\.\d+) s: .* iterations (\d+) ", re.M)
SGD_SUMMARY = re.compile(r"^trained (\d+) epochs? on \d+ \S+ in (\d+\.\d+) s:", re.M)


def run(command, env):
    start = time.monotonic()
    r = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.monotonic() - start
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(command)}\n{r.stderr}")
    m = SUMMARY.search(r.stdout)
    if m:
        return float(m.group(1)) / int(m.group(2)), wall
    m = SGD_SUMMARY.search(r.stdout)
    if m:
        return float(m.group(2)) / int(m.group(1)), wall
    raise SystemExit(f"no summary line from {' '.join(command)}:\n{r.stdout}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(ROOT / "build" / "release"))
    p.add_argument("--fashion", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--debian", default="/tmp/debian",
                   help="the Debian task's folder (bench/data/debian_sections.py OUT)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args()
    exe = str(Path(args.build) / "tools" / "softreg" / "softreg")
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        raise SystemExit("no mpirun: scripts/setup installs openmpi-bin")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    debian = ["--text", f"{args.debian}/train.txt", "--test", f"{args.debian}/test.txt"]
    # (task, options, whether every P must give the one-process bytes)
    tasks = [
        ("Fashion-MNIST, lbfgs", ["--data", args.fashion, "--solver", "lbfgs", "--tol", "1e-30",
                                  "--max-iter", "40"], True),
        ("Debian task (text), lbfgs", debian + ["--solver", "lbfgs", "--tol", "1e-30",
                                                "--max-iter", "15"], True),
        ("Fashion-MNIST, SGD (batch 256)", ["--data", args.fashion, "--epochs", "5"], True),
        ("Debian task (text), SGD (averaged epochs)", debian + ["--solver", "sgd", "--epochs", "5"],
         False),
    ]
    configs = [
        ("1 process, 1 thread", None, "1"),
        ("1 process, 2 threads", None, "2"),
        ("mpirun -np 2, 1 thread each", 2, "1"),
        ("mpirun -np 4, 1 thread each (oversubscribed: 4 on 2 cores)", 4, "1"),
    ]
    scratch = Path(tempfile.mkdtemp(prefix="softreg-scaling-"))
    rows = []
    try:
        for task, data, exact in tasks:
            times = {c[0]: [] for c in configs}
            walls = {c[0]: [] for c in configs}
            same = {}
            for r in range(args.runs):
                for name, procs, threads in configs:
                    out = scratch / f"{len(rows)}-{procs}-{threads}.safetensors"
                    cmd = [exe, "train", "--quiet", "--threads", threads, "--out", str(out)] + data
                    if procs is not None:
                        cmd = [mpirun, "-q", "--oversubscribe", "-np", str(procs)] + cmd
                    per_iteration, wall = run(cmd, env)
                    times[name].append(per_iteration)
                    walls[name].append(wall)
                    same[name] = out.read_bytes()
            reference = same[configs[0][0]]
            base = statistics.median(times[configs[0][0]])
            for name, _, _ in configs:
                t = statistics.median(times[name])
                bytes_same = same[name] == reference
                rows.append((task, name, t * 1000, base / t, statistics.median(walls[name]),
                             "yes" if bytes_same else "NO" if exact else "no (depends on P)"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    head = ("task", "run", "ms an iteration (lbfgs) or epoch (SGD)", "speedup", "wall s",
            "same model bytes")
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("| " + " | ".join("---" for _ in head) + " |")
        for t, n, ms, s, w, b in rows:
            print(f"| {t} | {n} | {ms:.1f} | {s:.2f} | {w:.2f} | {b} |")
    else:
        for t, n, ms, s, w, b in rows:
            print(f"{t:42} {n:62} {ms:9.1f} ms  x{s:5.2f}  {w:7.2f} s  {b}")


if __name__ == "__main__":
    main()
