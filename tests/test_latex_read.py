#!/usr/bin/env python3
"""Every LaTeX string matcalc prints parses back to the same expression
(SPEC §2, LaTeX input): the strings the KaTeX test collects from
tests/diff_cases.inc (results and the bare functions) and from the --latex
blocks of tests/cli/*.test. Each is read again in its statement's context
(the lets and bindings before it) and must print the same plain form as the
statement printed without --latex. Derivation blocks (align*) are left out.

usage: test_latex_read.py MATCALC
"""
import glob
import os
import re
import shlex
import subprocess
import sys

from caselib import c_string_pairs, split_top
from test_latex import bare_function

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(exe, args):
    env = dict(os.environ)
    env.setdefault("MATCALC_RULES", os.path.join(ROOT, "rules"))
    env["LC_ALL"] = "C.UTF-8"
    p = subprocess.run([exe] + args, capture_output=True, env=env, timeout=120,
                       cwd=os.path.join(ROOT, "tests", "cli"))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def result_lines(text):
    """Output lines outside align* blocks."""
    res, inblock = [], False
    for line in text.split("\n"):
        if line.startswith("\\begin{align*}"):
            inblock = True
        elif inblock:
            inblock = not line.startswith("\\end{align*}")
        elif line.strip():
            res.append(line)
    return res


def is_context(stmt):
    s = stmt.strip()
    return s.startswith("let ") or re.match(r"^[^=()]+=[^=]", s) is not None


def cases_from_statement(stmt):
    parts = split_top(stmt, ";")
    ctx = [p for p in parts[:-1] if is_context(p)]
    return ctx, parts


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    exe = os.path.abspath(sys.argv[1])
    jobs = []  # (where, context statements, statements to print)
    for stmt, _ in c_string_pairs(os.path.join(ROOT, "tests", "diff_cases.inc")):
        jobs.append((f"diff_cases: {stmt}", [stmt]))
        bare = bare_function(stmt)
        if bare:
            jobs.append((f"diff_cases bare: {bare}", [bare]))
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "cli", "*.test"))):
        for lineno, line in enumerate(open(path, encoding="utf-8"), 1):
            if not line.startswith("$ matcalc ") or "--latex" not in line:
                continue
            if any(c in line for c in "|<>") or "--emit" in line or "--list-rules" in line \
                    or "--steps" in line:
                continue
            try:
                args = shlex.split(line[2:])[1:]
            except ValueError:
                continue
            stmts = [args[i + 1] for i in range(len(args) - 1) if args[i] == "-e"]
            if stmts and all(a in ("--latex", "-e") or a in stmts for a in args):
                jobs.append((f"{os.path.relpath(path, ROOT)}:{lineno}", stmts))
    passed = failed = 0
    for where, stmts in jobs:
        es = []
        for s in stmts:
            es += ["-e", s]
        rc1, lat, _ = run(exe, ["--latex"] + es)
        rc2, pl, _ = run(exe, es)
        if rc1 != 0 or rc2 != 0:
            continue
        lats, pls = result_lines(lat), result_lines(pl)
        if len(lats) != len(pls):
            continue
        ctx = []
        for s in stmts:
            for part in split_top(s, ";"):
                if is_context(part):
                    ctx += ["-e", part]
        for tex, plain in zip(lats, pls):
            if " = " in plain or " = " in tex:
                continue  # a statement's report (∇ f = ...), not an expression
            rc, out, err = run(exe, ctx + ["-e", tex])
            back = out.strip().split("\n")[-1] if out.strip() else ""
            if rc == 0 and back == plain:
                passed += 1
                continue
            if rc == 0:
                # the same value under another name of a unified size (K(m_A, m_X)
                # and K(n_X, m_X)): compared on numbers
                rc3, out3, _ = run(exe, ctx + ["-e", f"ξ_0 = {tex}", "-e", f"check(ξ_0 = {plain})"])
                if rc3 == 0 and out3.strip().split("\n")[-1] == "equal":
                    passed += 1
                    continue
            failed += 1
            print(f"FAIL {where}\n  latex: {tex}\n  plain: {plain}\n  read:  "
                  f"{back if rc == 0 else err.strip()}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
