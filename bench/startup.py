#!/usr/bin/env python3
"""startup.py - whole-process start-up time of matcalc on the course's first gradient.

usage: python3 bench/startup.py [--runs N] MATCALC[:RULES_DIR] [MATCALC[:RULES_DIR] ...]

Runs `MATCALC -e 'grad(tr(Θ^T X X^T Θ), Θ)'` N times (default 200) for each
program given, interleaved so that a busy machine slows all of them alike, and
prints per program the median and mean wall time and the mean CPU time (user +
system) of one run. RULES_DIR sets MATCALC_RULES for that program (an older
build needs the rules of its own day). A benchmark, not a test.
"""
import os
import resource
import statistics
import subprocess
import sys
import time

STATEMENT = "grad(tr(Θ^T X X^T Θ), Θ)"


def main():
    args = sys.argv[1:]
    runs = 200
    if len(args) >= 2 and args[0] == "--runs":
        runs = int(args[1])
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    progs = []
    for a in args:
        exe, _, rules = a.partition(":")
        env = dict(os.environ)
        if rules:
            env["MATCALC_RULES"] = rules
        out = subprocess.run([exe, "-e", STATEMENT], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{exe}: status {out.returncode}: {out.stderr}")
        progs.append((exe, env, out.stdout.strip()))
    wall = [[] for _ in progs]
    cpu = [0.0 for _ in progs]
    for _ in range(runs):
        for k, (exe, env, _) in enumerate(progs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([exe, "-e", STATEMENT], env=env, stdout=subprocess.DEVNULL)
            wall[k].append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[k] += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for k, (exe, env, answer) in enumerate(progs):
        w = wall[k]
        rules = env.get("MATCALC_RULES", "default rules")
        print(f"{exe} ({rules}): median {1e3 * statistics.median(w):.2f} ms, mean "
              f"{1e3 * statistics.mean(w):.2f} ms wall; {1e3 * cpu[k] / runs:.2f} ms CPU "
              f"({runs} runs) -> {answer}")


if __name__ == "__main__":
    main()
