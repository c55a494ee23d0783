#!/usr/bin/env python3
"""compare_read.py - run two builds of bench_read alternately and print a table.

    python3 bench/compare_read.py OLD/bench/bench_read NEW/bench/bench_read [--rounds R]
        [--case KB:SHAPE ...] [--wrap-new CMD] [--limit MS]

Each round runs OLD, then NEW, once per case (`bench_read KB 9 SHAPE`, CPU time, with
OPENBLAS_NUM_THREADS=1). A case's figure is the median over the rounds of each run's
median of 9 (the lowest in parentheses); NEW's phases (parse / resolve / print LaTeX /
print plain) are medians too. For each case it also counts the rounds in which NEW
took less than --limit milliseconds (default 10, the target of issue 10). --wrap-new
runs NEW under a command (say a program that refuses it transparent huge pages).
The load (uptime) is printed before and after. A benchmark, not a test.
"""
import argparse
import os
import re
import statistics
import subprocess

LINE = re.compile(r"(\w+), (\d+) bytes: parse [\d.]+ \(([\d.]+)\) ms, resolve [\d.]+ \(([\d.]+)\) ms, "
                  r"print LaTeX [\d.]+ \(([\d.]+)\) ms, print plain [\d.]+ \(([\d.]+)\) ms; "
                  r"all [\d.]+ \(([\d.]+)\) ms")
DEFAULT_CASES = ["100:norms", "10:norms", "50:norms", "200:norms", "100:matrices", "100:nested"]


def run(cmd):
    """(bytes, [parse, resolve, latex, plain, all]) of one bench_read run (CPU ms)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    m = LINE.search(out)
    if not m:
        raise SystemExit("compare_read: cannot read the output of %s:\n%s" % (cmd, out))
    return int(m.group(2)), [float(m.group(i)) for i in range(3, 8)]


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--case", action="append", help="KB:SHAPE (repeatable)")
    ap.add_argument("--wrap-new", default="", help="a command NEW runs under")
    ap.add_argument("--limit", type=float, default=10.0)
    a = ap.parse_args()
    cases = a.case or DEFAULT_CASES
    wrap = a.wrap_new.split() if a.wrap_new else []
    print(uptime())
    print("| formula | before | after (lowest) | after per kB | after < %g ms | "
          "after: parse / resolve / LaTeX / plain |" % a.limit)
    print("|---|---|---|---|---|---|")
    for case in cases:
        kb, shape = case.split(":")
        old, new = [], []
        size = 0
        for _ in range(a.rounds):
            old.append(run([a.old, kb, "9", shape])[1])
            size, t = run(wrap + [a.new, kb, "9", shape])
            new.append(t)

        def med(runs, i):
            return statistics.median(r[i] for r in runs)

        under = sum(r[4] < a.limit for r in new)
        print("| %s %.0f kB | %.2f ms | **%.2f ms** (%.2f) | %.3f ms | %d of %d | "
              "%.2f / %.2f / %.2f / %.2f ms |"
              % (shape, size / 1024, med(old, 4), med(new, 4), min(r[4] for r in new),
                 med(new, 4) / (size / 1024), under, a.rounds,
                 med(new, 0), med(new, 1), med(new, 2), med(new, 3)), flush=True)
    print(uptime())


if __name__ == "__main__":
    main()
