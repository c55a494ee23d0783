#!/usr/bin/python3
"""test_structure.py - structured matrices that only multiply (diag(v), Aᵀ diag(w) A,
s I in a sum, A ⊗ B acting on a vector, hessvec) are never formed by eval,
--emit=numpy or --emit=c; this checks that all three still agree with the dense
computation, written here in NumPy with np.diag, np.kron and np.eye, on random
values at the sizes 1×1, 1×n, n×1 and m×n (matcalc has no empty matrices:
randn(0, 3) is an error). Relative tolerance 1e-9: never rounding noise.
Also: the logistic Hessian's NumPy code has no np.diag of a vector.

usage: test_structure.py MATCALC
"""
import ctypes
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

TOL = 1e-9
DECLS = ("let X : matrix(m, n); let A : matrix(p, q); let B : matrix(r, c); "
         "let V : matrix(c, q); let v, y : vector(m); let u, w, d : vector(n); "
         "let λ : scalar")


def kmat(m, n):
    """The commutation matrix: K vec(A) = vec(A^T), A m x n."""
    k = np.zeros((m * n, m * n))
    for i in range(m):
        for j in range(n):
            k[j + i * n, i + j * m] = 1
    return k


def vec(a):
    return a.reshape(-1, order="F")


def sig(x):
    return 1 / (1 + np.exp(-x))


def logistic_h(X, y, w):
    s = sig(-y * (X @ w))
    return X.T @ np.diag(y * y * s * (1 - s)) @ X


# (statement, dense reference from the values by name)
CASES = [
    ("diag(v) X", lambda a: np.diag(a["v"]) @ a["X"]),
    ("X diag(u)", lambda a: a["X"] @ np.diag(a["u"])),
    ("diag(v) X diag(u) + X", lambda a: np.diag(a["v"]) @ a["X"] @ np.diag(a["u"]) + a["X"]),
    ("diag(u) diag(w) + 2 diag(u)", lambda a: np.diag(a["u"]) @ np.diag(a["w"]) + 2 * np.diag(a["u"])),
    ("X diag(u)^-1", lambda a: a["X"] @ np.linalg.inv(np.diag(a["u"]))),
    ("X^T diag(v) X", lambda a: a["X"].T @ np.diag(a["v"]) @ a["X"]),
    ("X diag(u) X^T", lambda a: a["X"] @ np.diag(a["u"]) @ a["X"].T),
    ("X^T X", lambda a: a["X"].T @ a["X"]),
    ("3 X X^T", lambda a: 3 * a["X"] @ a["X"].T),
    ("2 X^T diag(v) X - λ X^T diag(v ⊙ y) X + X^T X",
     lambda a: 2 * a["X"].T @ np.diag(a["v"]) @ a["X"]
     - a["λ"] * a["X"].T @ np.diag(a["v"] * a["y"]) @ a["X"] + a["X"].T @ a["X"]),
    ("X^T X + 2 λ I", lambda a: a["X"].T @ a["X"] + 2 * a["λ"] * np.eye(a["X"].shape[1])),
    ("X^T diag(v) X - I", lambda a: a["X"].T @ np.diag(a["v"]) @ a["X"] - np.eye(a["X"].shape[1])),
    ("kron(A, B) vec(V)", lambda a: np.kron(a["A"], a["B"]) @ a["V"].reshape(-1, order="F")),
    ("kron(A, B)^T z", lambda a: np.kron(a["A"], a["B"]).T @ a["z"]),
    ("z^T kron(A, B)", lambda a: a["z"] @ np.kron(a["A"], a["B"])),
    ("K(m, n) vec(X)", lambda a: kmat(*a["X"].shape) @ vec(a["X"])),
    ("vec(X)^T K(m, n)", lambda a: vec(a["X"]) @ kmat(*a["X"].shape)),
    ("K(m, n) vec(X) vec(X)^T K(m, n)^T",
     lambda a: kmat(*a["X"].shape) @ np.outer(vec(a["X"]), vec(a["X"])) @ kmat(*a["X"].shape).T),
    ("hess(sum(softplus(-y ⊙ (X w))), w)", lambda a: logistic_h(a["X"], a["y"], a["w"])),
    ("hessvec(sum(softplus(-y ⊙ (X w))), w, d)", lambda a: logistic_h(a["X"], a["y"], a["w"]) @ a["d"]),
    ("hess(||y - X w||^2 + λ ||w||^2, w)",
     lambda a: 2 * a["X"].T @ a["X"] + 2 * a["λ"] * np.eye(a["X"].shape[1])),
]

SIZES = [dict(m=1, n=1, p=1, q=1, r=1, c=1), dict(m=1, n=4, p=1, q=3, r=2, c=1),
         dict(m=5, n=1, p=3, q=1, r=1, c=2), dict(m=6, n=4, p=2, q=3, r=3, c=2)]


def values(sz, rng):
    m, n, p, q, r, c = (sz[k] for k in "mnpqrc")
    v = rng.normal(size=m)
    v[::3] = 0  # zero weights drop out of a dsyrk: they must still count as zero
    return {"X": rng.normal(size=(m, n)), "A": rng.normal(size=(p, q)),
            "B": rng.normal(size=(r, c)), "V": rng.normal(size=(c, q)),
            "v": v, "y": rng.normal(size=m),
            "u": rng.normal(size=n) + 2, "w": rng.normal(size=n), "d": rng.normal(size=n),
            "z": rng.normal(size=p * r), "λ": 0.7}


def literal(x):
    if np.ndim(x) == 0:
        return repr(float(x))
    if np.ndim(x) == 1:
        return "[" + "; ".join(repr(float(t)) for t in x) + "]"
    return "[" + "; ".join(" ".join(repr(float(t)) for t in row) for row in x) + "]"


def parse(text):
    text = text.strip()
    if not text.startswith("["):
        return np.array(float(text))
    return np.array([[float(t) for t in row.split()] for row in text[1:-1].split(";")])


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd[:3]) + ": " + p.stderr.strip())
    return p.stdout


def agree(got, want):
    g = np.asarray(got, dtype=float).reshape(-1)
    w = np.asarray(want, dtype=float).reshape(-1)
    if g.size != w.size:
        return f"sizes differ: {g.size} and {w.size}"
    err = np.linalg.norm(g - w)
    scale = max(np.linalg.norm(w), 1e-3)
    return None if err <= TOL * scale else f"relative difference {err / scale:.2e}"


def eval_value(matcalc, stmt, vals):
    binds = [f"{k} = {literal(x)}" for k, x in vals.items() if k in used(stmt)]
    out = run([matcalc, "--precision", "17", "-e", DECLS] + [a for b in binds for a in ("-e", b)]
              + ["-e", stmt])
    return parse(out.strip().split("\n")[-1])


def used(stmt):
    return set(re.findall(r"[A-Za-zλ]", stmt)) & {"X", "A", "B", "V", "v", "y", "u", "w", "d", "z", "λ"}


ASCII = {"λ": "lambda_"}


def numpy_value(matcalc, stmt, vals, tmp):
    code = run([matcalc, "--emit=numpy", "-e", DECLS, "-e", stmt])
    ns = {}
    exec(compile(code, "emitted", "exec"), ns)
    names = re.search(r"^def fun\((.*)\):", code, re.M).group(1).split(", ")
    back = {ASCII.get(k, k): k for k in vals}
    res = ns["fun"](*[vals[back[n]] for n in names])
    return (res[-1] if isinstance(res, tuple) else res), code


def c_value(matcalc, stmt, vals, want, tmp, k):
    code = run([matcalc, "--emit=c", "-e", DECLS, "-e", stmt])
    src, lib = os.path.join(tmp, f"s{k}.c"), os.path.join(tmp, f"s{k}.so")
    with open(src, "w") as f:
        f.write(code)
    flags = subprocess.run(["pkg-config", "--cflags", "openblas", "lapacke"],
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-o", lib, src] + flags
                   + ["-lopenblas", "-llapacke", "-lm"], check=True)
    fun = ctypes.CDLL(lib).fun
    params = re.search(r"^int fun\((.*)\)$", code, re.M).group(1).split(", ")
    back = {ASCII.get(k, k).rstrip("_"): k for k in vals}
    args, keep, outs = [], [], []
    for p in params:
        typ, name = p.rsplit(" ", 1)
        name = name.lstrip("*")
        if typ == "const double":
            a = np.asfortranarray(vals[back[name]], dtype=float)
            keep.append(a)
            args.append(a.ctypes.data_as(ctypes.c_void_p))
        elif typ == "int":
            base, what = name.rsplit("_", 1)
            a = np.atleast_2d(vals[back[base]]) if what == "cols" else np.atleast_1d(vals[back[base]])
            args.append(ctypes.c_int(a.shape[1] if what == "cols" else a.shape[0]))
        elif name in ("value", "gradient", "hessian"):
            last = params[-1].rsplit(" ", 1)[1].lstrip("*")
            size = want.size if name == last else vals["w"].size if name == "gradient" else 1
            o = np.zeros(max(size, 1))
            outs.append(o)
            args.append(o.ctypes.data_as(ctypes.c_void_p))
        else:
            args.append(ctypes.c_double(vals[back[name]]))
    rc = fun(*args)
    if rc != 0:
        raise RuntimeError(f"generated C returned {rc}")
    return outs[-1].reshape(np.shape(want) if np.ndim(want) == 2 else -1, order="F")


def main():
    matcalc = sys.argv[1]
    rng = np.random.default_rng(13)
    failures, checks = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        k = 0
        for stmt, ref in CASES:
            for sz in SIZES:
                vals = values(sz, rng)
                want = ref(vals)
                for form in ("eval", "numpy", "c"):
                    checks += 1
                    k += 1
                    try:
                        if form == "eval":
                            got = eval_value(matcalc, stmt, vals)
                        elif form == "numpy":
                            got, _ = numpy_value(matcalc, stmt, vals, tmp)
                        else:
                            got = c_value(matcalc, stmt, vals, np.asarray(want), tmp, k)
                        problem = agree(got, want)
                    except Exception as e:  # one case's crash is that case's failure
                        problem = f"{type(e).__name__}: {e}"
                    if problem:
                        failures.append(f"[{form}] {stmt} at {sz}: {problem}")
    # the must-show: no np.diag of a vector that is then multiplied
    checks += 1
    code = run([matcalc, "--emit=numpy", "-e", "hess(sum(softplus(-y ⊙ (X w))), w)"])
    body = code[code.index("def fun"):]
    if "np.diag(" in body:
        failures.append("[numpy] the logistic Hessian's code forms np.diag:\n" + body)
    for f in failures:
        print("FAIL " + f)
    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
