#!/usr/bin/env python3
"""The KaTeX render test: collects every LaTeX string the suite produces and
renders each with KaTeX (tests/katex_test.js); any string KaTeX rejects fails,
and so does one with a non-ASCII character (pdflatex would reject it).

usage: test_latex.py MATCALC [--dump FILE]

The strings:
  - `matcalc --latex` of every input of tests/diff_cases.inc: the derivation's
    result and the bare function inside grad/hess/jacobian;
  - the course exercises and the losses of docs/gen_examples.sh, as the script
    prints them now (results and `--steps --latex` blocks);
  - `matcalc --list-rules --latex` rows, as `LHS = RHS`;
  - every $...$ and $$...$$ of docs/examples.md and docs/identities.md;
  - every expected output of tests/cli/*.test blocks whose command has --latex.
Prints `N passed, N failed` (katex_test.js does); exits 1 on a failure, 77
when node or KaTeX is missing.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from caselib import c_string_pairs, split_top

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(exe, args, check=True):
    env = dict(os.environ)
    env.setdefault("MATCALC_RULES", os.path.join(ROOT, "rules"))
    env["LC_ALL"] = "C.UTF-8"
    p = subprocess.run([exe] + args, capture_output=True, env=env, timeout=300)
    out = p.stdout.decode("utf-8")
    if check and p.returncode != 0:
        raise SystemExit("matcalc %s failed (status %d):\n%s%s" % (
            " ".join(args), p.returncode, out, p.stderr.decode("utf-8", "replace")))
    return out


def latex_lines(text):
    """The LaTeX strings of matcalc output: each line, except that an
    align* block (--steps --latex) is one string."""
    res, block = [], None
    for line in text.split("\n"):
        if block is not None:
            block.append(line)
            if line.startswith("\\end{align*}"):
                res.append("\n".join(block))
                block = None
        elif line.startswith("\\begin{align*}"):
            block = [line]
        elif line.strip() and not line.startswith("matcalc: "):
            res.append(line)
    if block is not None:
        res.append("\n".join(block))
    return res


def bare_function(stmt):
    """'prefix; grad(f, x)' -> 'prefix; f' (or None when it is no such call)."""
    parts = stmt.split(";")
    last = parts[-1].strip()
    m = re.match(r"(grad|hess|jacobian)\((.*)\)$", last)
    if not m:
        return None
    args = split_top(m.group(2), ",")
    if len(args) != 2:
        return None
    return ";".join(parts[:-1] + [" " + args[0]]).strip()


def cli_latex(path):
    """Expected outputs of the --latex blocks of a golden CLI test file."""
    res = []
    cur = None
    for lineno, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if cur is None:
            if line.startswith("$ "):
                cur = {"cmd": line[2:], "out": [], "line": lineno}
            continue
        if line.startswith("? ") and line[2:].strip().lstrip("-").isdigit():
            if "--latex" in cur["cmd"] and "--emit" not in cur["cmd"]:
                out = "\n".join(cur["out"])
                if "--list-rules" in cur["cmd"]:
                    strs = [rule_row(l) for l in cur["out"] if " & " in l]
                else:
                    strs = latex_lines(out)
                    # an error report's source line and caret are not output
                    if int(line[2:]) != 0:
                        strs = []
                for s in strs:
                    res.append((f"{os.path.relpath(path, ROOT)}:{cur['line']}", s))
            cur = None
        else:
            cur["out"].append(line)
    return res


def rule_row(line):
    """`LHS & RHS & CITE \\\\` -> `LHS = RHS`."""
    row = line.rstrip()
    if row.endswith("\\\\"):
        row = row[:-2].rstrip()
    lhs, rhs, _cite = row.rsplit(" & ", 2)
    return f"{lhs} = {rhs}"


def md_math(path):
    """Every $$...$$ and $...$ of a Markdown file, outside code."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    res = []
    for m in re.finditer(r"\$\$(.+?)\$\$", text, flags=re.S):
        res.append(m.group(1).strip())
    text = re.sub(r"\$\$(.+?)\$\$", "", text, flags=re.S)
    for m in re.finditer(r"(?<![\\$])\$([^$\n]+?)\$", text):
        res.append(m.group(1).strip())
    return res


def main():
    args = sys.argv[1:]
    dump = None
    if "--dump" in args:
        i = args.index("--dump")
        dump = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        raise SystemExit(__doc__)
    exe = os.path.abspath(args[0])
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        print("node is not installed: run `sh tests/install-deps.sh --test`")
        return 77

    items = []

    def add(src, strs):
        for s in strs:
            items.append({"src": src, "tex": s})

    for stmt, _want in c_string_pairs(os.path.join(ROOT, "tests", "diff_cases.inc")):
        add(f"diff_cases: {stmt}", latex_lines(run(exe, ["--latex", "-e", stmt])))
        bare = bare_function(stmt)
        if bare:
            add(f"diff_cases bare: {bare}", latex_lines(run(exe, ["--latex", "-e", bare])))

    gen = subprocess.run(["sh", os.path.join(ROOT, "docs", "gen_examples.sh"), exe],
                         capture_output=True, timeout=600)
    if gen.returncode != 0:
        raise SystemExit("docs/gen_examples.sh failed:\n" + gen.stderr.decode("utf-8", "replace"))
    with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8") as f:
        f.write(gen.stdout.decode("utf-8"))
        tmp = f.name
    try:
        add("gen_examples.sh (the current binary)", md_math(tmp))
    finally:
        os.unlink(tmp)

    for line in run(exe, ["--list-rules", "--latex"]).split("\n"):
        if " & " in line:
            items.append({"src": "--list-rules --latex", "tex": rule_row(line)})

    for md in ("docs/examples.md", "docs/identities.md"):
        path = os.path.join(ROOT, md)
        if os.path.exists(path):
            add(md, md_math(path))
        else:
            print(f"FAIL {md} is missing")
            return 1

    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "cli", "*.test"))):
        for src, s in cli_latex(path):
            items.append({"src": src, "tex": s})

    if dump:
        with open(dump, "w", encoding="utf-8") as f:
            json.dump(items, f, ensure_ascii=False, indent=0)
    p = subprocess.run([node, os.path.join(ROOT, "tests", "katex_test.js")],
                       input=json.dumps(items).encode("utf-8"))
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
