#!/usr/bin/env python3
"""stream_memory.py - memory of a statement file as it grows (issue 9): a file
of N megabytes of `tr(A B)` lines is run by matcalc, and its maximum resident
set size is printed beside the file's size. Statements run as they are read, so
the figure should not grow with N. A benchmark, not a test.

Usage: python3 bench/stream_memory.py build/src/matcalc [MB ...]   (default 1 10 100)
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

LINE = b"tr(A B)\n"


def run(exe, mb, tmp):
    path = os.path.join(tmp, "s%d.mc" % mb)
    with open(path, "wb") as f:
        chunk = LINE * ((1 << 20) // len(LINE))
        for _ in range(mb):
            f.write(chunk)
    t0 = time.monotonic()
    p = subprocess.Popen([exe, path], stdout=subprocess.PIPE)
    lines = 0
    for block in iter(lambda: p.stdout.read(1 << 16), b""):
        lines += block.count(b"\n")
    rc = p.wait()
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(path)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: one child per
    # run, and the runs go from small to large
    return rc, lines, wall, after.ru_maxrss


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else "build/src/matcalc"
    sizes = [int(a) for a in sys.argv[2:]] or [1, 10, 100]
    with tempfile.TemporaryDirectory() as tmp:
        print("| file | statements | exit | wall | max RSS |")
        print("|---|---|---|---|---|")
        for mb in sorted(sizes):
            rc, lines, wall, rss = run(exe, mb, tmp)
            print("| %d MB | %d | %d | %.1f s | %.1f MB |" % (mb, lines, rc, wall, rss / 1024))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
