#!/usr/bin/env python3
"""The reading corpus: inputs as people paste them (LaTeX from notes, papers,
solution PDFs, Q&A pages) and type them (plain text with NumPy and MATLAB
habits), each with the meaning its author intended, in matcalc's plain syntax.

usage: test_reading.py MATCALC [CORPUS] [--table] [--stats]

Corpus format (tests/reading/corpus.txt): blocks separated by blank lines.
    # source: where the input was found, or "typed, student habit"
    in: the input, one statement, as pasted
    means: its intended meaning in plain syntax (a value, not a string)
    kinds: let statements (';'-separated) giving the intended kinds, run
           only where the meaning is compared, never before the input
    pre: statements the user typed before the input (';'-separated)
    expect: the exact output instead of a meaning (for check statements)
    refuse: a part of the error message an unsupported input must get
    table: the row of docs/language.md's "you write / matcalc reads" table
           this case stands for (the row's left cell)

How a case is judged, with numbers, not strings:
  1. `matcalc PRE -e IN` prints P (and --latex prints L1).
  2. `matcalc PRE KINDS -e 'check(P = MEANS)'` must print `equal`: check
     compares canonical forms and then random numeric instances.
  3. The kinds the input was read with must be the intended ones: every name
     that `--latex` of P prints bold (vector, matrix) or not (scalar) in step 1
     prints the same way when P is read under KINDS.
A refused case must exit 2 with `matcalc: -e:LINE:COL: error: ...REFUSE...`,
the source line and a caret. Outcomes: read as meant, refused with a message,
or silently misread (exit 0 with another meaning), which fails the test; so
does a refusal of an input the corpus says is read.

--table prints the docs table rows from the corpus; --stats the counts only.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "reading", "corpus.txt")


def parse_corpus(path):
    cases, cur, lineno0 = [], None, 0
    for lineno, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.rstrip("\n")
        if not line.strip():
            if cur and "in" in cur:
                cases.append(cur)
            cur = None
            continue
        if cur is None:
            cur = {"line": lineno, "source": ""}
        if line.startswith("#"):
            cur["source"] = (cur["source"] + " " + line[1:].strip()).strip()
            continue
        m = re.match(r"(in|means|kinds|pre|expect|refuse|table): ?(.*)$", line)
        if not m:
            raise SystemExit(f"{path}:{lineno}: expected 'field: value', got {line!r}")
        cur[m.group(1)] = m.group(2)
    if cur and "in" in cur:
        cases.append(cur)
    for c in cases:
        kinds = [k for k in ("means", "expect", "refuse") if k in c]
        if len(kinds) != 1:
            raise SystemExit(f"{path}:{c['line']}: a case has one of means/expect/refuse")
        if not c["source"]:
            raise SystemExit(f"{path}:{c['line']}: a case names its source")
    return cases


def stmts(field):
    return [s.strip() for s in field.split(";") if s.strip()] if field else []


def run(exe, args):
    env = dict(os.environ)
    env.setdefault("MATCALC_RULES", os.path.join(ROOT, "rules"))
    env["LC_ALL"] = "C.UTF-8"
    p = subprocess.run([exe] + args, capture_output=True, env=env, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def es(statements):
    out = []
    for s in statements:
        out += ["-e", s]
    return out


def styled_names(latex):
    """{name: bold?} of the names in a LaTeX string matcalc printed."""
    res = {}
    for m in re.finditer(r"\\(?:mathbf|boldsymbol)\{(\\?[A-Za-z]+)\}", latex):
        res[m.group(1)] = True
    plain = re.sub(r"\\(?:mathbf|boldsymbol)\{\\?[A-Za-z]+\}", " ", latex)
    plain = re.sub(r"\\(operatorname|mathit|mathrm)\{[^}]*\}", " ", plain)
    plain = re.sub(r"_\{[^}]*\}", " ", plain)
    for m in re.finditer(r"\\([A-Za-z]+)|(?<![\\A-Za-z])([A-Za-z])(?![A-Za-z])", plain):
        name = "\\" + m.group(1) if m.group(1) else m.group(2)
        if m.group(1) and m.group(1) in ("left", "right", "top", "cdot", "odot", "otimes", "det",
                                         "log", "exp", "sqrt", "nabla", "oslash", "tanh", "sin",
                                         "cos", "tan", "begin", "end", "frac", "mathrm"):
            continue
        if name in ("F", "T") or name in res:
            continue
        res.setdefault(name, False)
    return res


def judge(exe, c):
    """('meant' | 'refused' | 'silent' | 'fail', detail)."""
    pre = stmts(c.get("pre"))
    rc, out, err = run(exe, es(pre) + ["-e", c["in"]])
    if "refuse" in c:
        if rc == 0:
            return "silent", f"read as {out.strip()!r}, but the corpus says it must be refused"
        lines = err.rstrip("\n").split("\n")
        ok = (rc == 2 and len(lines) >= 3 and re.match(r"matcalc: -e:\d+:\d+: error: ", lines[-3])
              and c["refuse"] in lines[-3] and lines[-1].strip() == "^")
        return ("refused", "") if ok else ("fail", f"status {rc}, report:\n{err}")
    if rc != 0:
        return "refused", f"status {rc}: {err.strip()}"
    if "expect" in c:
        return ("meant", "") if out.strip() == c["expect"] else \
            ("silent", f"printed {out.strip()!r}, expected {c['expect']!r}")
    p = out.strip().split("\n")[-1]
    kinds = stmts(c.get("kinds"))
    rc2, out2, err2 = run(exe, es(pre + kinds) + ["-e", f"check({p} = {c['means']})"])
    if rc2 != 0 or out2.strip().split("\n")[-1] != "equal":
        return "silent", f"read as {p!r}; check against {c['means']!r}: {(out2 + err2).strip()}"
    if kinds:
        _, l1, _ = run(exe, ["--latex"] + es(pre) + ["-e", c["in"]])
        _, l2, _ = run(exe, ["--latex"] + es(pre + kinds) + ["-e", p])
        s1, s2 = styled_names(l1), styled_names(l2)
        for name in sorted(set(s1) & set(s2)):
            if s1[name] != s2[name]:
                return "silent", (f"read as {p!r} with {name} {'bold' if s1[name] else 'not bold'}"
                                  f" (a {'vector or matrix' if s1[name] else 'scalar'}), but it is "
                                  f"{'bold' if s2[name] else 'not bold'} under {kinds}")
    return "meant", ""


def table(cases):
    """The rows of docs/language.md's table "you write / matcalc reads"."""
    def cell(text):
        text = text.replace("|", "\\|")
        return "`` " + text + " ``" if "`" in text else "`" + text + "`"
    rows, seen = [], set()
    for c in cases:
        if "table" not in c or c["table"] in seen:
            continue
        seen.add(c["table"])
        if "means" in c:
            reads = cell(c["means"])
        elif "expect" in c:
            reads = cell(c["expect"]) if c["expect"] else "a definition (prints nothing)"
        else:
            reads = "refused: " + cell(c["refuse"])
        pre = " (after `" + c["pre"].replace("|", "\\|") + "`)" if c.get("pre") else ""
        rows.append(f"| {cell(c['in'])}{pre} | {reads} |")
    return rows


TABLE_START = "<!-- reading table: generated by tests/test_reading.py --table -->"
TABLE_END = "<!-- end of the reading table -->"


def docs_table_current(cases):
    """Whether docs/language.md holds the table the corpus generates now."""
    text = open(os.path.join(ROOT, "docs", "language.md"), encoding="utf-8").read()
    if TABLE_START not in text or TABLE_END not in text:
        return False
    block = text.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    rows = [l for l in block.split("\n") if l.startswith("| `")]
    return rows == table(cases)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    if not args:
        raise SystemExit(__doc__)
    exe = os.path.abspath(args[0])
    cases = parse_corpus(args[1] if len(args) > 1 else CORPUS)
    if "--table" in flags:
        print("\n".join(table(cases)))
        return 0
    counts = {"meant": 0, "refused": 0, "silent": 0, "fail": 0}
    failed = 0
    for c in cases:
        outcome, detail = judge(exe, c)
        counts[outcome] += 1
        wanted = "refused" if "refuse" in c else "meant"
        if outcome != wanted:
            failed += 1
            print(f"FAIL corpus.txt:{c['line']}: {c['in']}\n  {outcome}: {detail}")
    print(f"{len(cases)} inputs: {counts['meant']} read as meant, {counts['refused']} refused with "
          f"a message, {counts['silent']} silently misread, {counts['fail']} refused badly")
    if not docs_table_current(cases):
        failed += 1
        print("FAIL docs/language.md's reading table is not the corpus's: replace its rows with "
              "`python3 tests/test_reading.py build/src/matcalc --table`")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
