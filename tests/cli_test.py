#!/usr/bin/env python3
"""Golden command-line tests: runs each `$ command` of tests/cli/*.test with
matcalc first on PATH and compares stdout+stderr and the exit status.

Format of a .test file (blocks in order; `#` lines between blocks are comments):

    $ matcalc -e 'tr(Θ^T X X^T Θ)'
    tr(Θ^T X X^T Θ)
    ? 0

The command runs under sh; the lines up to `? N` are its expected output
(stdout then stderr, as the terminal shows them with 2>&1), N its exit status.
"""
import os
import subprocess
import sys


def parse(path):
    blocks, cur = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if cur is None:
                if line.startswith("$ "):
                    cur = {"cmd": line[2:], "out": [], "line": lineno}
                elif line.strip() and not line.startswith("#"):
                    raise SystemExit(f"{path}:{lineno}: expected '$ command'")
                continue
            if line.startswith("? ") and line[2:].strip().lstrip("-").isdigit():
                cur["rc"] = int(line[2:])
                blocks.append(cur)
                cur = None
            else:
                cur["out"].append(line)
    if cur is not None:
        raise SystemExit(f"{path}:{cur['line']}: block without '? STATUS'")
    return blocks


def main():
    exe, files = sys.argv[1], sys.argv[2:]
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(os.path.abspath(exe)) + os.pathsep + env["PATH"]
    env.setdefault("MATCALC_RULES", os.path.join(os.path.dirname(__file__), "..", "rules"))
    env["LC_ALL"] = "C.UTF-8"
    passed = failed = 0
    for path in files:
        for b in parse(path):
            p = subprocess.run(["sh", "-c", b["cmd"] + " 2>&1"], env=env, capture_output=True,
                               timeout=120, cwd=os.path.dirname(os.path.abspath(path)))
            got = p.stdout.decode("utf-8", "replace").rstrip("\n").split("\n")
            if got == [""]:
                got = []
            want = b["out"]
            if got == want and p.returncode == b["rc"]:
                passed += 1
                continue
            failed += 1
            print(f"FAIL {path}:{b['line']}: $ {b['cmd']}")
            print("  expected (status %d):" % b["rc"])
            for l in want:
                print("    " + l)
            print("  got (status %d):" % p.returncode)
            for l in got:
                print("    " + l)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
