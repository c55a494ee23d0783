#!/usr/bin/env python3
"""Grading speed (issue 11), through the program as a grader runs it.

usage: bench_grading.py MATCALC [RUNS]

1. A batch file of 1,000 check(...) statements (hw3's five problems, each
   with its pool of right and wrong answers below, round after round), run
   as `matcalc FILE`: the time per check (the start-up of a one-line file
   subtracted).
2. `matcalc grade` of 200 submissions of 5 parts each (tests/grading/hw3.problems,
   answers drawn from a pool of right and wrong ones per part, fixed seed).
Prints the best of RUNS (default 3) for each. Run it under `nice -n 10` on a
shared machine (docs/performance.md)."""
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

POOL = {
    "ls": ["2 X^T (X θ - y)", "X^T (X θ - y)", "2 X^T X θ - 2 X^T y", "2 X^T (y - X θ)",
           "2 (X θ - y)^T X", "2 X.T @ (X @ θ - y)"],
    "ridge": ["2 X^T (X θ - y) + 2 λ θ", "2 X^T (X θ - y) + λ θ", "2 X^T (X θ - y)",
              "2 (X^T X + λ I) θ - 2 X^T y"],
    "quad": ["(A + A^T) θ", "2 A θ", "θ^T (A + A^T)", "A θ + A^T θ"],
    "trace": ["A^T B^T", "B A", "(B A)^T", "2 A^T B^T"],
    "logdet": ["S^-T", "S^-1", "inv(S)^T", "-S^-T"],
}


def best(cmd, runs):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True)
        t.append(time.perf_counter() - t0)
        if p.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}\n{p.stderr.decode()[:500]}")
    return min(t)


def main():
    exe = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    os.environ.setdefault("MATCALC_RULES", os.path.join(ROOT, "rules"))
    tmp = tempfile.mkdtemp(prefix="matcalc-bench-")
    # 1. a batch of checks: hw3's declarations, then every pool answer of
    # every part, round after round, to 1,000 checks
    problems = os.path.join(ROOT, "tests", "grading", "hw3.problems")
    lets, parts, cur = [], {}, None
    with open(problems, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("let "):
                lets.append(line)
            elif line.startswith("["):
                cur = line[1:line.index("]")]
            elif line.startswith("problem:"):
                parts[cur] = line[8:].strip()
    lines, checks = list(lets), 0
    while checks < 1000:
        for part, pool in POOL.items():
            for a in pool:
                if checks < 1000:
                    lines.append(f"check({parts[part]} = {a})")
                    checks += 1
    batch = os.path.join(tmp, "batch.mc")
    with open(batch, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    empty = os.path.join(tmp, "empty.mc")
    with open(empty, "w") as f:
        f.write("1\n")
    t_start = best([exe, empty], runs)
    t_batch = best([exe, batch], runs)
    per = (t_batch - t_start) / checks
    print(f"batch: {checks} checks in {t_batch:.3f} s (start-up {t_start * 1000:.1f} ms): "
          f"{per * 1000:.3f} ms per check")
    # 2. a class of 200 submissions of 5 parts
    rng = random.Random(11)
    subs = []
    for k in range(200):
        path = os.path.join(tmp, f"student{k:03d}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"# name: student {k}\n")
            for part, pool in POOL.items():
                f.write(f"[{part}]\n{rng.choice(pool)}\n")
        subs.append(path)
    t_grade = best([exe, "grade", problems] + subs, runs)
    print(f"grade: 200 submissions x 5 parts in {t_grade:.3f} s "
          f"({t_grade / 1000 * 1000:.3f} ms per answer)")


if __name__ == "__main__":
    main()
