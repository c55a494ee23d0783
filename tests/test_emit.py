#!/usr/bin/python3
"""test_emit.py - the code of --emit=numpy and --emit=c against finite differences
and against matcalc's own eval, for every grad/hess/jacobian case of the
differentiation table (tests/diff_cases.inc).

usage: test_emit.py MATCALC DIFF_CASES_INC

For each case: matcalc --emit=numpy prints a module; the test reads the
arguments' declarations from its header comment, draws random values of
consistent sizes, runs fun(...) and compares
  - the derivative with central finite differences of the emitted value
    (for hess: of the emitted gradient), relative tolerance 1e-6;
  - value and derivative with `eval(...)` of the same statement in matcalc,
    the same numbers bound with X = [...] statements, relative tolerance 1e-8.
Then every case's --emit=c function is compiled (cc, CBLAS/LAPACKE) with a
driver that passes the same numbers, and its results are compared with eval.
Prints "N passed, N failed"; exits 1 on a failure. Runs under Debian's
/usr/bin/python3, whose numpy is python3-numpy (tests/install-deps.sh): a
missing numpy is a failure, not a skip.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

from caselib import c_string_pairs, split_top

import numpy as np

# Beyond the differentiation table: operators it does not reach (kron, vec,
# literals, matrix powers, a matrix variable's Hessian, a scalar variable),
# numeric sizes, and names that are keywords of Python or C.
EXTRA = [
    "grad(a^T b, x)",
    "grad(sum(abs(x) + tan(x)), x)",
    "grad(sum(sqrt(x ⊙ x + 1)), x)",
    "grad(tr([1 2; 3 4] X), X)",
    "hess(tr(X^T X), X)",
    "grad(tr(X^-2), X)",
    "grad(det(X)^2 + α^2 tr(X), α)",
    "jacobian(kron(A, B) x, x)",
    "grad(a^T kron(A, B) x, x)",
    "grad(sum(vec(A) ⊙ vec(A)) x^T x, x)",
    "grad(x^T diag(A), x)",
    "let x : vector(n); grad(sum(ones(n, 1) ⊙ x), x)",
    "grad(sum(relu(x) + sigmoid(x)), x)",
    "grad(tr(A^2 X), X)",
    "grad(1 ./ (x^T x), x)",
    "grad(sum(x ./ (1 + x ⊙ x)), x)",
    "jacobian(a^T x, x)",
    "hess(α^3 + α x^T x, α)",
    "let X : matrix(3, 2); grad(||X θ - y||^2, θ)",
    "let lambda, in : scalar; grad(lambda in x^T x + t0^T np, x)",
    "let int, g : scalar; grad(int g x^T x + sum(exp(x)), x)",
]

FD_TOL = 1e-6
EVAL_TOL = 1e-8
DECL = re.compile(r"^(?:#| \*)   (\S+)\s+let (\S+) : (.*)$")


def read_cases(path):
    """The inputs of diff_cases.inc."""
    return [inp for inp, _want in c_string_pairs(path)]


def split_statements(case):
    """'let A : ...; grad(...)' -> ['let A : ...', 'grad(...)'] (';' outside brackets)."""
    return [p for p in split_top(case, ";") if p]


def split_call(stmt):
    """'grad(F, x)' -> ('grad', 'F', 'x'): the last comma at depth 1 separates them."""
    head = stmt[:stmt.index("(")]
    depth, last = 0, None
    for i, ch in enumerate(stmt):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 1:
            last = i
    if last is None:
        return head, None, None
    return head, stmt[len(head) + 1:last].strip(), stmt[last + 1:-1].strip()


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=900, **kw)


def parse_decls(text):
    """The header's argument lines: [(param, matcalc name, kind, dims, symmetric, spd)]."""
    args = []
    for line in text.split("\n"):
        m = DECL.match(line)
        if not m:
            continue
        param, name, rest = m.groups()
        spd = rest.startswith("spd ")
        sym = spd or rest.startswith("symmetric ")
        if sym:
            rest = rest.split(" ", 1)[1]
        if rest == "scalar":
            args.append((param, name, "scalar", [], False, False))
            continue
        kind, dims = re.match(r"(vector|matrix)\((.*)\)$", rest).groups()
        args.append((param, name, kind, [d.strip() for d in dims.split(",")], sym, spd))
    return args


def draw(args, rng, same_size=False):
    """Random values of consistent sizes: every size name gets its own size,
    different names different sizes where possible (a transposition shows);
    square matrices are kept well away from singular, logdet's arguments
    have a positive determinant."""
    names = []
    for a in args:
        for d in a[3]:
            for f in d.split("*"):  # a product size n_A*m_B: its factors
                if not f.isdigit() and f not in names:
                    names.append(f)
    pool = list(rng.permutation([2, 3, 4, 5, 6]))
    size = {d: int(pool[i]) if i < len(pool) else int(rng.integers(2, 7)) for i, d in enumerate(names)}
    if same_size:  # a product like A X B is singular when an inner size is smaller
        size = {d: 4 for d in names}
    vals = []
    for param, name, kind, dims, sym, spd in args:
        n = [int(np.prod([int(f) if f.isdigit() else size[f] for f in d.split("*")])) for d in dims]
        if kind == "scalar":
            v = float(rng.uniform(0.5, 1.5))
        elif kind == "vector":
            v = rng.normal(size=n[0]) * 0.7
        elif spd:
            m = rng.normal(size=(n[0], n[0]))
            v = m @ m.T / n[0] + np.eye(n[0])
        elif sym:
            m = rng.normal(size=(n[0], n[0]))
            v = (m + m.T) / 2 * 0.5 / np.sqrt(n[0]) + 2 * np.eye(n[0])
        elif dims[0] == dims[1]:
            v = rng.normal(size=(n[0], n[1])) * 0.5 / np.sqrt(n[0]) + 2 * np.eye(n[0])
        else:
            v = rng.normal(size=(n[0], n[1])) * 0.7
        vals.append(v)
    return vals


def mc_literal(v):
    """A value as matcalc reads it back: 2.5, [1; 2], [1 2; 3 4]."""
    if np.ndim(v) == 0:
        return repr(float(v))
    if np.ndim(v) == 1:
        return "[" + "; ".join(repr(float(x)) for x in v) + "]"
    return "[" + "; ".join(" ".join(repr(float(x)) for x in row) for row in v) + "]"


def parse_value(text):
    text = text.strip()
    if not text.startswith("["):
        return float(text)
    rows = [r.split() for r in text[1:-1].split(";")]
    a = np.array([[float(x) for x in r] for r in rows])
    return a


def close(got, want, tol):
    """Whether two results agree to a relative tolerance (in norm). Both are
    flattened in the same order, so a 1-D vector matches an n x 1 one."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if want.size == 1 and got.size != 1:
        want = np.full(got.shape, float(want.reshape(-1)[0]))  # eval prints a zero matrix as 0
    if got.size != want.size or (got.ndim == 2 and want.ndim == 2 and got.shape != want.shape):
        return False, f"shapes differ: {got.shape} and {want.shape}"
    g, w = got.reshape(-1), want.reshape(-1)
    err = np.linalg.norm(g - w)
    scale = max(np.linalg.norm(g), np.linalg.norm(w), 1e-3)
    return err <= tol * scale, f"relative difference {err / scale:.3g}"


def fd_jacobian(f, x, h=1e-5):
    """Central differences of f (any shape) with respect to every entry of x,
    x's entries in column-major order (vec): columns of the result."""
    x = np.asarray(x, dtype=float)
    flat = x.reshape(-1, order="F").copy()
    cols = []
    for k in range(flat.size):
        step = h * max(1.0, abs(flat[k]))
        up, dn = flat.copy(), flat.copy()
        up[k] += step
        dn[k] -= step
        fu = np.asarray(f(up.reshape(x.shape, order="F") if x.ndim else up[0]), dtype=float)
        fd = np.asarray(f(dn.reshape(x.shape, order="F") if x.ndim else dn[0]), dtype=float)
        cols.append(((fu - fd) / (2 * step)).reshape(-1, order="F"))
    return np.array(cols).T


class Case:
    def __init__(self, number, text):
        self.number = number
        self.text = text
        self.stmts = split_statements(text)
        self.lets = self.stmts[:-1]
        self.stmt = self.stmts[-1]
        self.head, self.fun_text, self.var = split_call(self.stmt)


def emit(matcalc, case, form):
    cmd = [matcalc, "--emit=" + form] + sum((["-e", s] for s in case.stmts), [])
    p = run(cmd)
    if p.returncode != 0:
        raise RuntimeError(f"matcalc --emit={form} failed ({p.returncode}): "
                           + p.stderr.decode("utf-8", "replace"))
    return p.stdout.decode("utf-8")


class SingularError(Exception):
    pass


def mc_eval(matcalc, case, args, vals, exprs, shapes):
    """matcalc's eval of each of exprs with the values bound. shapes: NumPy's
    shapes of the results, for an I whose size eval cannot tell."""
    try:
        return mc_eval_once(matcalc, case, args, vals, exprs)
    except RuntimeError as e:
        if "the size of I is not known" not in str(e):
            raise
    # eval(grad(tr(X), X)) is I of no known size: add ones of the size and subtract them
    padded = []
    for e, shp in zip(exprs, shapes):
        r, c = (tuple(shp) + (1, 1))[:2] if len(shp) != 1 else (shp[0], 1)
        padded.append(f"({e}) + ones({r}, {c})" if (r, c) != (1, 1) else e)
    res = mc_eval_once(matcalc, case, args, vals, padded)
    return [v - 1 if p != e else v for v, p, e in zip(res, padded, exprs)]


def mc_eval_once(matcalc, case, args, vals, exprs):
    cmd = [matcalc, "--precision", "17"]
    for s in case.lets:
        cmd += ["-e", s]
    for (param, name, *_), v in zip(args, vals):
        cmd += ["-e", f"{name} = {mc_literal(v)}"]
    for e in exprs:
        cmd += ["-e", f"eval({e})"]
    p = run(cmd)
    out = p.stdout.decode("utf-8").strip().split("\n")
    if "singular" in p.stderr.decode("utf-8", "replace"):
        raise SingularError(p.stderr.decode("utf-8", "replace"))
    if p.returncode != 0 or len(out) != len(exprs):
        raise RuntimeError("matcalc eval failed: " + " ".join(shlex.quote(c) for c in cmd) + "\n"
                           + p.stderr.decode("utf-8", "replace"))
    return [parse_value(o) for o in out]


def check_numpy(matcalc, case, rng, failures):
    """Runs the NumPy module of one case; returns (args, values, results, eval results).
    Sizes are distinct per size name, or all equal when that makes a matrix singular."""
    try:
        return check_numpy_sized(matcalc, case, rng, failures, False)
    except (np.linalg.LinAlgError, SingularError):
        return check_numpy_sized(matcalc, case, rng, failures, True)


def check_numpy_sized(matcalc, case, rng, failures, same_size):
    text = emit(matcalc, case, "numpy")
    ns = {}
    exec(compile(text, f"<emit case {case.number}>", "exec"), ns)
    args = parse_decls(text)
    if not args or "fun" not in ns:
        raise RuntimeError("no arguments or no fun in the module:\n" + text)
    params = [a[0] for a in args]
    sig = re.search(r"^def fun\((.*)\):$", text, re.M).group(1)
    if sig != ", ".join(params):
        raise RuntimeError(f"fun({sig}) does not list the declared arguments {params}")
    vals = draw(args, rng, same_size)
    with np.errstate(all="raise", under="ignore"):
        res = ns["fun"](*vals)
    vi = [a[1] for a in args].index(case.var) if case.var in [a[1] for a in args] else None
    if vi is None:
        raise RuntimeError(f"the variable {case.var} is not an argument")

    def with_var(x):
        v2 = list(vals)
        v2[vi] = x
        return ns["fun"](*v2)

    x = vals[vi]
    xshape = np.shape(x)
    problems = []
    # shapes: vectors 1-D, scalars floats, matrices 2-D
    if case.head in ("grad", "hess"):
        if np.ndim(res[0]) != 0:
            problems.append(f"value has shape {np.shape(res[0])}, not a float")
        if np.shape(res[1]) != xshape:
            problems.append(f"gradient has shape {np.shape(res[1])}, not {xshape}")
        ok, why = close(np.reshape(res[1], -1, order="F"),
                        fd_jacobian(lambda z: with_var(z)[0], x).reshape(-1), FD_TOL)
        if not ok:
            problems.append("gradient vs finite differences: " + why)
    if case.head == "hess":
        n = int(np.size(x))
        if np.shape(res[2]) != ((n, n) if n > 1 else ()):
            problems.append(f"hessian has shape {np.shape(res[2])}, not ({n}, {n})")
        ok, why = close(res[2], fd_jacobian(lambda z: with_var(z)[1], x), FD_TOL)
        if not ok:
            problems.append("hessian vs finite differences of the gradient: " + why)
    if case.head == "jacobian":
        m, n = int(np.size(res[0])), int(np.size(x))
        want = tuple(d for d in (m, n) if d > 1)
        if np.shape(res[1]) != want:
            problems.append(f"jacobian has shape {np.shape(res[1])}, not {want}")
        ok, why = close(np.reshape(res[1], (m, n)), fd_jacobian(lambda z: with_var(z)[0], x), FD_TOL)
        if not ok:
            problems.append("jacobian vs finite differences: " + why)
    exprs = [case.fun_text, case.stmt]
    if case.head == "hess":
        exprs = [case.fun_text, f"grad({case.fun_text}, {case.var})", case.stmt]
    ev = mc_eval(matcalc, case, args, vals, exprs, [np.shape(r) for r in res])
    for label, got, want in zip(("value", "derivative", "hessian"), res, ev):
        ok, why = close(got, want, EVAL_TOL)
        if not ok:
            problems.append(f"{label} vs matcalc's eval: {why}")
    if problems:
        failures.append((case, "numpy", problems, text))
    return args, vals, res, ev


C_DRIVER_HEAD = """#include <stdio.h>
#include <stdlib.h>
"""


def c_case_source(text, k):
    """The generated C with fun renamed: all cases link into one program."""
    return f"#define fun fun_{k}\n" + text


def c_driver_call(k, args, vals, outs):
    """Code calling fun_k with the values and printing its results."""
    lines = [f"\t{{ /* case {k} */"]
    params = []
    for i, ((param, name, kind, dims, *_), v) in enumerate(zip(args, vals)):
        if kind == "scalar":
            params.append(repr(float(v)))
            continue
        flat = np.asarray(v, dtype=float).reshape(-1, order="F")
        lines.append(f"\t\tstatic const double a{i}[] = {{{', '.join(repr(float(x)) for x in flat)}}};")
        if kind == "vector":
            params += [f"a{i}", str(len(v))]
        else:
            params += [f"a{i}", str(v.shape[0]), str(v.shape[1])]
    for j, n in enumerate(outs):
        lines.append(f"\t\tstatic double o{j}[{n}];")
        params.append(f"o{j}")
    lines.append(f"\t\tint rc = fun_{k}({', '.join(params)});")
    lines.append(f'\t\tprintf("case {k} %d", rc);')
    for j, n in enumerate(outs):
        lines.append(f'\t\tfor (int i = 0; i < {n}; i++) printf(" %.17g", o{j}[i]);')
    lines.append('\t\tprintf("\\n");')
    lines.append("\t}")
    return "\n".join(lines)


def pkg_flags():
    p = run(["pkg-config", "--cflags", "--libs", "openblas", "lapacke"])
    flags = p.stdout.decode().split() if p.returncode == 0 else ["-lopenblas", "-llapacke"]
    return flags + ["-lm"]


def check_c(matcalc, cases, failures):
    """Compiles every case's --emit=c function into one program and compares
    its results with matcalc's eval. Returns the number of cases checked."""
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        sources, calls, want = [], [], {}
        for k, (case, args, vals, res, ev) in enumerate(cases):
            try:
                text = emit(matcalc, case, "c")
            except RuntimeError as e:
                failures.append((case, "c", [str(e)], ""))
                continue
            path = os.path.join(tmp, f"case{k}.c")
            with open(path, "w", encoding="utf-8") as f:
                f.write(c_case_source(text, k))
            sources.append(path)
            outs = [max(1, int(np.size(v))) for v in res]
            calls.append(c_driver_call(k, args, vals, outs))
            want[k] = (case, ev, text)
        driver = os.path.join(tmp, "driver.c")
        with open(driver, "w", encoding="utf-8") as f:
            f.write(C_DRIVER_HEAD)
            for k in want:
                # the prototype comes from the generated file's comment
                f.write(re.search(r"^ \* (int fun\(.*?\));$", want[k][2], re.M | re.S)
                        .group(1).replace("\n *", "").replace("int fun(", f"int fun_{k}(") + ";\n")
            f.write("int main(void)\n{\n" + "\n".join(calls) + "\n\treturn 0;\n}\n")
        exe = os.path.join(tmp, "emitted")
        p = run([cc, "-std=c11", "-Wall", "-Wextra", "-O1", "-o", exe, driver] + sources + pkg_flags())
        diag = p.stderr.decode("utf-8", "replace")
        if p.returncode != 0 or "warning" in diag:
            failures.append((None, "c", ["the generated C does not compile cleanly:\n" + diag[:4000]], ""))
            return 0
        p = run([exe])
        got = {}
        for line in p.stdout.decode().split("\n"):
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "case":
                got[int(parts[1])] = (int(parts[2]), [float(x) for x in parts[3:]])
        for k, (case, ev, text) in want.items():
            if k not in got:
                failures.append((case, "c", ["the program printed nothing for this case"], text))
                continue
            rc, nums = got[k]
            problems = []
            if rc != 0:
                problems.append(f"fun returned {rc}")
            pos = 0
            for label, w in zip(("value", "derivative", "hessian"), ev):
                n = max(1, int(np.size(w)))
                arr = np.array(nums[pos:pos + n])
                pos += n
                wf = np.asarray(w, dtype=float)
                wf = wf.reshape(-1, order="F") if wf.ndim == 2 else wf.reshape(-1)
                ok, why = close(arr, wf, EVAL_TOL)
                if not ok:
                    problems.append(f"{label} vs matcalc's eval: {why}")
            if problems:
                failures.append((case, "c", problems, text))
        return len(want)


def must_show(matcalc, failures):
    """The issue's example: fun(X, lambda_, theta, y) matching finite differences."""
    p = run([matcalc, "--emit=numpy", "-e", "grad(||y - X θ||^2 + λ ||θ||^2, θ)"])
    text = p.stdout.decode()
    ns = {}
    exec(compile(text, "m.py", "exec"), ns)
    problems = []
    if "def fun(X, lambda_, theta, y):" not in text:
        problems.append("the signature is not fun(X, lambda_, theta, y)")
    rng = np.random.default_rng(5)
    X, lam, theta, y = rng.normal(size=(5, 3)), 0.7, rng.normal(size=3), rng.normal(size=5)
    value, grad = ns["fun"](X, lam, theta, y)
    want = np.sum((y - X @ theta) ** 2) + lam * theta @ theta
    if abs(value - want) > 1e-10 * abs(want):
        problems.append(f"value {value} is not {want}")
    fd = fd_jacobian(lambda t: ns["fun"](X, lam, t, y)[0], theta).reshape(-1)
    ok, why = close(grad, fd, FD_TOL)
    if not ok:
        problems.append("gradient vs finite differences: " + why)
    if "np.linalg.solve" not in run([matcalc, "--emit=numpy", "-e",
                                     "grad(a^T X^-1 b, X)"]).stdout.decode():
        problems.append("an inverse that multiplies is not a solve")
    if problems:
        failures.append((None, "must-show", problems, text))


def main():
    matcalc, inc = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(20240601)
    cases = [Case(i, t) for i, t in enumerate(read_cases(inc) + EXTRA)]
    cases = [c for c in cases if c.head in ("grad", "hess", "jacobian")]
    failures, checked, passed = [], [], 0
    for case in cases:
        nfail = len(failures)
        try:
            args, vals, res, ev = check_numpy(matcalc, case, rng, failures)
            checked.append((case, args, vals, res, ev))
        except Exception as e:  # a crash of one case is that case's failure
            failures.append((case, "numpy", [f"{type(e).__name__}: {e}"], ""))
        passed += len(failures) == nfail
    ncases = len(cases)
    nfail_before_c = len(failures)
    nc = check_c(matcalc, checked, failures)
    failed_c = len(failures) - nfail_before_c
    must_show(matcalc, failures)
    for case, form, problems, text in failures:
        where = f"case {case.number}: {case.text}" if case else "general"
        print(f"FAIL [{form}] {where}")
        for p in problems:
            print("    " + p)
        if text and os.environ.get("EMIT_TEST_VERBOSE"):
            print(text)
    total = ncases + nc + 1
    nfailed = len(failures)
    print(f"{total - nfailed} passed, {nfailed} failed "
          f"({ncases} NumPy modules, {nc} C functions ({failed_c} failed), the must-show example)")
    ntable = ncases - len(EXTRA)
    if ntable < 80:
        print(f"only {ntable} differentiation cases found in {inc}")
        return 1
    return 1 if nfailed else 0


if __name__ == "__main__":
    sys.exit(main())
