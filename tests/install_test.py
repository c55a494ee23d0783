#!/usr/bin/env python3
"""install_test.py - libmatcalc as an installed library: what `meson install` puts in place.

usage: install_test.py BUILD_ROOT SOURCE_ROOT [SANITIZE]

SANITIZE is the build's b_sanitize ("none", "address,undefined"): a sanitized
library needs the example compiled with the same -fsanitize.

Installs the build into a temporary directory (`meson install --destdir`),
then checks:
  - matcalc.h and matcalc.pc are installed, and the shared library exports
    only matcalc_* symbols (nm -D --defined-only);
  - examples/gradient.c builds with `pkg-config --cflags --libs matcalc`
    alone (shared, and static with --static) and prints the course's first
    gradient, finding the installed rules through the .pc file's rulesdir;
  - the installed matcalc finds the installed rules by default (no
    MATCALC_RULES) and prints the same gradient.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

failures = 0
WANT = "2 X X^T Θ"


def ok(name):
    print(f"ok   {name}")


def fail(name, detail):
    global failures
    failures += 1
    print(f"FAIL {name}\n     {detail}")


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)


def one(pattern, what):
    found = glob.glob(pattern, recursive=True)
    if len(found) != 1:
        fail(f"{what} is installed", f"{pattern}: {found}")
        return None
    ok(f"{what} is installed ({os.path.relpath(found[0], DEST)})")
    return found[0]


def main():
    global DEST
    build, source = sys.argv[1], sys.argv[2]
    sanitize = sys.argv[3] if len(sys.argv) > 3 else "none"
    san_flags = [] if sanitize in ("", "none") else [f"-fsanitize={sanitize}"]
    tmp = tempfile.mkdtemp(prefix="matcalc-install-")
    DEST = os.path.join(tmp, "dest")
    try:
        r = run(["meson", "install", "-C", build, "--destdir", DEST, "--no-rebuild",
                 "--quiet"])
        if r.returncode != 0:
            fail("meson install --destdir", r.stdout + r.stderr)
            return 1
        header = one(f"{DEST}/**/include/matcalc.h", "matcalc.h")
        pc = one(f"{DEST}/**/pkgconfig/matcalc.pc", "matcalc.pc")
        so = one(f"{DEST}/**/libmatcalc.so", "libmatcalc.so")
        one(f"{DEST}/**/libmatcalc.a", "libmatcalc.a")
        exe = one(f"{DEST}/**/bin/matcalc", "the matcalc program")
        rules = one(f"{DEST}/**/share/matcalc/rules/gradient.rules", "the rules")
        if not (header and pc and so and exe and rules):
            return 1

        # only matcalc_* is exported
        r = run(["nm", "-D", "--defined-only", so])
        syms = [line.split()[-1] for line in r.stdout.splitlines() if line.strip()]
        others = [s for s in syms if not s.startswith("matcalc_")]
        if r.returncode != 0 or not syms or others:
            fail("libmatcalc.so exports only matcalc_* symbols",
                 f"{len(others)} others: {' '.join(others[:20])} {r.stderr}")
        else:
            ok(f"libmatcalc.so exports only matcalc_* symbols ({len(syms)})")

        # pkg-config sees the installed tree through its sysroot
        env = dict(os.environ)
        env["PKG_CONFIG_PATH"] = os.path.dirname(pc)
        env["PKG_CONFIG_SYSROOT_DIR"] = DEST
        env.pop("MATCALC_RULES", None)
        flags = run(["pkg-config", "--cflags", "--libs", "matcalc"], env=env)
        static = run(["pkg-config", "--static", "--cflags", "--libs", "matcalc"], env=env)
        rulesdir = run(["pkg-config", "--variable=rulesdir", "matcalc"], env=env)
        if flags.returncode or static.returncode or rulesdir.returncode:
            fail("pkg-config --cflags --libs matcalc", flags.stderr + static.stderr)
            return 1
        ok(f"pkg-config --cflags --libs matcalc: {flags.stdout.strip()}")
        example = os.path.join(source, "examples", "gradient.c")
        cc = os.environ.get("CC", "cc")
        run_env = dict(env)
        # pkg-config puts the sysroot (DEST) in front of rulesdir too
        run_env["MATCALC_RULES"] = rulesdir.stdout.strip()
        run_env["LD_LIBRARY_PATH"] = os.path.dirname(so)
        for kind, fl in (("shared", flags.stdout.split()), ("static", static.stdout.split())):
            prog = os.path.join(tmp, f"gradient-{kind}")
            args = [cc, "-std=c11", "-Wall", "-Werror"] + san_flags + [example, "-o", prog] + fl
            if kind == "static":
                # the archive instead of -lmatcalc, the rest of pkg-config's flags as given
                lib = glob.glob(f"{DEST}/**/libmatcalc.a", recursive=True)[0]
                args = [cc, "-std=c11", "-Wall", "-Werror"] + san_flags + [example, "-o", prog] + \
                    [f for f in fl if f.startswith("-I")] + [lib] + \
                    [f for f in fl if not f.startswith(("-I", "-L")) and f != "-lmatcalc"]
            b = run(args)
            if b.returncode != 0:
                fail(f"the example builds ({kind})", " ".join(args) + "\n" + b.stderr)
                continue
            r = run([prog], env=run_env)
            lines = r.stdout.splitlines()
            if r.returncode != 0 or not lines or lines[0] != WANT:
                fail(f"the example ({kind}) prints {WANT}",
                     f"status {r.returncode}: {r.stdout!r} {r.stderr!r}")
            else:
                ok(f"the example ({kind}) prints {lines[0]} and {lines[1]}")
            if kind == "static":
                d = run(["ldd", prog])
                if "libmatcalc" in d.stdout:
                    fail("the static example does not load libmatcalc.so", d.stdout)

        # the installed program finds the installed rules by itself
        exe_env = dict(os.environ)
        exe_env.pop("MATCALC_RULES", None)
        exe_env["LD_LIBRARY_PATH"] = os.path.dirname(so)
        r = run([exe, "-e", "grad(tr(Θ^T X X^T Θ), Θ)"], env=exe_env)
        if r.returncode != 0 or r.stdout != WANT + "\n":
            fail("the installed matcalc finds the installed rules",
                 f"status {r.returncode}: {r.stdout!r} {r.stderr!r}")
        else:
            ok("the installed matcalc finds the installed rules (no MATCALC_RULES)")
        # and reads them, not the source tree's: a broken installed rule is reported
        with open(rules, "a", encoding="utf-8") as f:
            f.write("\nbroken -> \n")
        r = run([exe, "-e", "tr(A)"], env=exe_env)
        if r.returncode != 2 or DEST not in r.stderr or "gradient.rules:" not in r.stderr:
            fail("the installed matcalc reads the installed rules",
                 f"status {r.returncode}: {r.stderr!r}")
        else:
            ok("the installed matcalc reads the installed rules (a broken one is reported)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{'FAILED' if failures else 'all passed'}: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
