#!/usr/bin/env python3
"""The documentation test: the generated pages are current, the examples in
the hand-written pages print what they say, the man page is clean.

usage: test_docs.py MATCALC [--update]

Checks:
  - docs/identities.md is what `sh docs/gen_identities.sh MATCALC` prints, and
    its gradient table has one row per rule of rules/gradient.rules, in order;
  - docs/examples.md is what `sh docs/gen_examples.sh MATCALC` prints, and
    docs/examples.html what docs/gen_examples_html.py makes of it;
  - every ```console block of README.md, docs/language.md and docs/rules.md:
    each `$ command` runs under sh (matcalc first on PATH, in a scratch
    directory shared by the commands of one page, where `rules` is the
    source tree's rules directory) and must print the lines that follow it
    (stdout and stderr, as with 2>&1);
  - docs/matcalc.1 renders with `groff -man -ww` without a warning (when groff
    is installed) and names every option of `matcalc --help`;
  - README.md has the two set-up commands.
With --update the console blocks are rewritten with what the commands print
now (review the diff before committing). Prints `N passed, N failed`.
"""
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md", "docs/language.md", "docs/rules.md"]
SETUP = [
    "sh tests/install-deps.sh && meson setup build && ninja -C build && "
    "./build/src/matcalc -e 'grad(tr(Θ^T X X^T Θ), Θ)'",
    "sh tests/run.sh",
]

passed = 0
failed = 0


def ok(name):
    global passed
    passed += 1
    print(f"ok   {name}")


def fail(name, detail):
    global failed
    failed += 1
    print(f"FAIL {name}")
    for line in detail.rstrip("\n").split("\n"):
        print("     " + line)


def env_for(exe):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(exe) + os.pathsep + env["PATH"]
    env.setdefault("MATCALC_RULES", os.path.join(ROOT, "rules"))
    env["LC_ALL"] = "C.UTF-8"
    return env


def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def generated(exe, script, page):
    """A page made by a script must be what the script prints now."""
    p = subprocess.run(["sh", os.path.join(ROOT, "docs", script), exe], capture_output=True,
                       env=env_for(exe), timeout=600)
    if p.returncode != 0:
        fail(f"{page} is current", f"docs/{script} failed:\n" +
             p.stderr.decode("utf-8", "replace"))
        return None
    want = p.stdout.decode("utf-8")
    have = read(page) if os.path.exists(os.path.join(ROOT, page)) else ""
    if want == have:
        ok(f"{page} is current")
    else:
        diff = list(difflib.unified_diff(have.split("\n"), want.split("\n"), page,
                                         f"sh docs/{script}", lineterm="", n=1))
        fail(f"{page} is current",
             f"regenerate it: sh docs/{script} build/src/matcalc > {page}\n" +
             "\n".join(diff[:40]) + ("\n..." if len(diff) > 40 else ""))
    return want


def examples_html():
    """docs/examples.html is what docs/gen_examples_html.py makes of examples.md
    (tests/test_render.py opens it in Chromium)."""
    p = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "gen_examples_html.py"),
                        os.path.join(ROOT, "docs", "examples.md")], capture_output=True,
                       timeout=120)
    have = read("docs/examples.html") if os.path.exists(
        os.path.join(ROOT, "docs", "examples.html")) else ""
    if p.returncode == 0 and p.stdout.decode("utf-8") == have:
        ok("docs/examples.html is current")
    else:
        fail("docs/examples.html is current", "regenerate it: python3 docs/gen_examples_html.py "
             "docs/examples.md > docs/examples.html")


def gradient_rows(page_text):
    """The citations of the rows of the gradient table of identities.md."""
    m = re.search(r"^## Gradients.*?\n(.*?)(?=^## |\Z)", page_text, flags=re.S | re.M)
    if not m:
        return None
    return [row.rstrip(" |").rsplit("|", 1)[1].strip()
            for row in m.group(1).split("\n") if re.match(r"\| \d+ \|", row)]


def gradient_rules():
    """The citations of the [gradient] rules of rules/gradient.rules, in order."""
    cites, section = [], None
    for line in read("rules/gradient.rules").split("\n"):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^\[(\w+)\]$", s)
        if m:
            section = m.group(1)
        elif section == "gradient":
            # less the --steps tag ([step], [fold], [tidy])
            cites.append(re.sub(r"\s*\[[a-z]+\]$", "", s.rsplit("@", 1)[1].strip()))
    return cites


def check_identities(exe):
    generated(exe, "gen_identities.sh", "docs/identities.md")
    rows = gradient_rows(read("docs/identities.md"))
    rules = gradient_rules()
    if rows is None:
        fail("identities.md lists rules/gradient.rules", "no '## Gradients' table")
    elif rows != rules:
        fail("identities.md lists rules/gradient.rules",
             f"{len(rules)} rules in rules/gradient.rules, {len(rows)} rows in the table\n"
             f"rules: {rules}\nrows:  {rows}")
    else:
        ok(f"identities.md lists the {len(rules)} rules of rules/gradient.rules")


def console_blocks(text):
    """(start line, end line, [(command, expected lines)]) of each ```console block."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "```console":
            j = i + 1
            cmds = []
            while j < len(lines) and lines[j].strip() != "```":
                if lines[j].startswith("$ "):
                    cmds.append([lines[j][2:], []])
                elif cmds:
                    cmds[-1][1].append(lines[j])
                j += 1
            blocks.append((i, j, cmds))
            i = j
        i += 1
    return blocks


def run_cmd(exe, cmd, cwd):
    # stderr of the whole command line, not only of its last command
    p = subprocess.run(["sh", "-c", "{ " + cmd + "\n} 2>&1"], capture_output=True, env=env_for(exe),
                       cwd=cwd, timeout=300)
    out = p.stdout.decode("utf-8", "replace").rstrip("\n")
    return out.split("\n") if out else []


def check_page(exe, page, update):
    if not os.path.exists(os.path.join(ROOT, page)):
        fail(f"{page} examples", f"{page} is missing")
        return
    text = read(page)
    lines = text.split("\n")
    scratch = tempfile.mkdtemp(prefix="matcalc-docs-")
    os.symlink(os.path.join(ROOT, "rules"), os.path.join(scratch, "rules"))
    bad = []
    n = 0
    new_lines, at = [], 0
    try:
        for start, end, cmds in console_blocks(text):
            new_lines.extend(lines[at:start + 1])
            for cmd, want in cmds:
                got = run_cmd(exe, cmd, scratch)
                n += 1
                new_lines.append("$ " + cmd)
                new_lines.extend(got)
                if got != want:
                    bad.append(f"{page}: $ {cmd}\n  expected:\n" +
                               "".join(f"    {l}\n" for l in want) + "  got:\n" +
                               "".join(f"    {l}\n" for l in got))
            at = end
        new_lines.extend(lines[at:])
    finally:
        shutil.rmtree(scratch)
    if update and bad:
        with open(os.path.join(ROOT, page), "w", encoding="utf-8") as f:
            f.write("\n".join(new_lines))
        print(f"updated {page} ({len(bad)} commands)")
    if n == 0:
        fail(f"{page} examples", "no ```console block")
    elif bad:
        fail(f"{page}: {len(bad)} of {n} examples differ", "\n".join(bad))
    else:
        ok(f"{page}: {n} examples print what the page says")


def check_man(exe):
    page = os.path.join(ROOT, "docs", "matcalc.1")
    groff = shutil.which("groff")
    if not groff:
        fail("docs/matcalc.1 renders without warnings",
             "groff is not installed (tests/install-deps.sh --test installs groff-base)")
    else:
        p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", page], capture_output=True,
                           env=dict(os.environ, LC_ALL="C.UTF-8"), timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode != 0 or err.strip():
            fail("docs/matcalc.1 renders without warnings", err or f"status {p.returncode}")
        else:
            ok("docs/matcalc.1 renders without warnings")
    helptext = subprocess.run([exe, "--help"], capture_output=True, env=env_for(exe),
                              timeout=60).stdout.decode("utf-8")
    opts = sorted(set(re.findall(r"^\s+(-e|--[a-z-]+(?:=[a-z]+)?)", helptext, flags=re.M)))
    # roff writes a hyphen in an option as \-
    man = read("docs/matcalc.1").replace("\\-", "-").replace("\\fB", "").replace("\\fR", "")
    missing = [o for o in opts if o not in man]
    if missing:
        fail("docs/matcalc.1 names every option of --help", "missing: " + " ".join(missing))
    else:
        ok(f"docs/matcalc.1 names the {len(opts)} options of --help")


def check_readme():
    text = read("README.md")
    m = re.search(r"^## Set up\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    if not m:
        fail("README.md set-up commands", "no '## Set up' section")
        return
    cmds = [line.strip()
            for block in re.findall(r"```sh\n(.*?)```", m.group(1), flags=re.S)
            for line in block.split("\n")
            if line.strip() and not line.strip().startswith("#")]
    if cmds != SETUP:
        fail("README.md set-up commands", "expected exactly:\n" + "\n".join(SETUP) +
             "\nfound:\n" + "\n".join(cmds))
    else:
        ok("README.md has the two set-up commands")


def main():
    args = sys.argv[1:]
    update = "--update" in args
    args = [a for a in args if a != "--update"]
    if len(args) != 1:
        raise SystemExit(__doc__)
    exe = os.path.abspath(args[0])
    check_identities(exe)
    md = generated(exe, "gen_examples.sh", "docs/examples.md")
    if md is not None:
        examples_html()
    for page in PAGES:
        check_page(exe, page, update)
    check_man(exe)
    check_readme()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
