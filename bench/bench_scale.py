#!/usr/bin/python3
"""bench_scale.py - derivatives at scale in Python: the code of matcalc --emit=numpy
and of --emit=c (compiled -O2 against OpenBLAS, called through ctypes) against
hand-written NumPy and PyTorch autograd (Debian's python3-torch, when it is
installed; never a test dependency). The cases and sizes are bench_scale.c's.
Prints the minimum over the repeats (the machine is shared); not a test.

usage: OPENBLAS_NUM_THREADS=1 bench_scale.py MATCALC [REPEATS] [CASE...]
"""
import ctypes
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import torch
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
except ImportError:
    torch = None


def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def data(case, rng):
    m, k = (2000, 2000) if case.endswith("-2000") else (4000, 300)
    if case.startswith("logistic") or case == "ridge-hess":
        return {"X": rng.standard_normal((m, k)), "w": rng.standard_normal(k),
                "y": rng.standard_normal(m), "lambda_": 0.5}
    if case == "gauss-grad":
        n = 2000
        a = rng.standard_normal((n, n))
        return {"Sigma": a.T @ a / n + np.eye(n), "x": rng.standard_normal(n),
                "mu": rng.standard_normal(n)}
    if case.startswith("mf-grad"):
        r = 50 if case.endswith("-2000") else 20
        return {"X": rng.standard_normal((m, k)), "U": rng.standard_normal((m, r)),
                "V": rng.standard_normal((k, r))}
    raise KeyError(case)


CASES = {
    # name: (statement, declarations, which output)
    "logistic-hess": ("hess(sum(softplus(-y ⊙ (X w))), w)", "", "hessian"),
    "logistic-grad": ("grad(sum(softplus(-y ⊙ (X w))), w)", "", "gradient"),
    "logistic-hess-2000": ("hess(sum(softplus(-y ⊙ (X w))), w)", "", "hessian"),
    "ridge-hess": ("hess(||y - X w||^2 + λ ||w||^2, w)", "", "hessian"),
    "gauss-grad": ("grad(logdet(Σ) + (x - μ)^T Σ^-1 (x - μ), Σ)",
                   "let Σ : spd matrix(n, n)", "gradient"),
    "mf-grad": ("grad(||X - U V^T||_F^2, U)", "", "gradient"),
    "mf-grad-2000": ("grad(||X - U V^T||_F^2, U)", "", "gradient"),
}


def hand_numpy(case, d):
    if case.startswith("logistic"):
        X, w, y = d["X"], d["w"], d["y"]
        s = sigmoid(-y * (X @ w))
        if case == "logistic-grad":
            return -X.T @ (y * s)
        return X.T @ ((y * y * s * (1 - s))[:, None] * X)
    if case == "ridge-hess":
        X = d["X"]
        return 2 * X.T @ X + 2 * d["lambda_"] * np.eye(X.shape[1])
    if case == "gauss-grad":
        si = np.linalg.inv(d["Sigma"])
        u = si @ (d["x"] - d["mu"])
        return si - np.outer(u, u)
    if case.startswith("mf-grad"):
        X, U, V = d["X"], d["U"], d["V"]
        return 2 * U @ (V.T @ V) - 2 * X @ V
    raise KeyError(case)


def torch_run(case, t):
    """PyTorch autograd: the gradient by backward, a Hessian by
    torch.autograd.functional.hessian(vectorize=True)."""
    if case.startswith("logistic"):
        X, y = t["X"], t["y"]

        def f(w):
            return torch.nn.functional.softplus(-y * (X @ w)).sum()
        if case == "logistic-grad":
            w = t["w"].clone().requires_grad_(True)
            return torch.autograd.grad(f(w), w)[0]
        return torch.autograd.functional.hessian(f, t["w"], vectorize=True)
    if case == "ridge-hess":
        X, y, lam = t["X"], t["y"], t["lambda_"]

        def f(w):
            r = y - X @ w
            return r @ r + lam * (w @ w)
        return torch.autograd.functional.hessian(f, t["w"], vectorize=True)
    if case == "gauss-grad":
        S = t["Sigma"].clone().requires_grad_(True)
        r = t["x"] - t["mu"]
        f = torch.logdet(S) + r @ torch.linalg.solve(S, r)
        return torch.autograd.grad(f, S)[0]
    if case.startswith("mf-grad"):
        U = t["U"].clone().requires_grad_(True)
        f = ((t["X"] - U @ t["V"].T) ** 2).sum()
        return torch.autograd.grad(f, U)[0]
    raise KeyError(case)


def emit(matcalc, lang, case):
    stmt, decl, _ = CASES[case]
    args = [matcalc, "--emit=" + lang]
    if decl:
        args += ["-e", decl]
    args += ["-e", stmt]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def load_numpy(code, tmp, case):
    path = os.path.join(tmp, case.replace("-", "_") + ".py")
    with open(path, "w") as f:
        f.write(code)
    spec = importlib.util.spec_from_file_location(case.replace("-", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    names = re.search(r"^def fun\((.*)\):", code, re.M).group(1).split(", ")
    return mod.fun, names


def load_c(code, tmp, case):
    src = os.path.join(tmp, case.replace("-", "_") + ".c")
    lib = src[:-2] + ".so"
    with open(src, "w") as f:
        f.write(code)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas", "lapacke"],
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", lib, src] + flags +
                   ["-lopenblas", "-llapacke", "-lm"], check=True)
    so = ctypes.CDLL(lib)
    sig = re.search(r"^int fun\((.*)\)$", code, re.M).group(1).split(", ")
    return so.fun, sig


def value_of(d, name):
    return d[name] if name in d else d[name + "_"]


def call_c(fun, sig, d, outputs):
    """Calls the generated C on d (column-major arrays); returns the outputs."""
    args, outs = [], []
    for p in sig:
        typ, name = p.rsplit(" ", 1)
        name = name.lstrip("*")
        if typ == "double" and name not in outputs:
            args.append(ctypes.c_double(value_of(d, name)))
        elif typ == "const double":
            args.append(d[name].ctypes.data_as(ctypes.c_void_p))
        elif typ == "int":
            base, what = name.rsplit("_", 1)
            a = np.atleast_1d(value_of(d, base))
            args.append(ctypes.c_int(a.shape[0] if what in ("rows", "len") else a.shape[1]))
        elif typ == "double":
            o = np.zeros(outputs[name], order="F")
            outs.append(o)
            args.append(o.ctypes.data_as(ctypes.c_void_p))
    rc = fun(*args)
    if rc != 0:
        raise RuntimeError("generated C returned %d" % rc)
    return outs


def best(fn, reps):
    t = 1e30
    r = None
    for _ in range(reps):
        t0 = time.perf_counter()
        r = fn()
        t = min(t, time.perf_counter() - t0)
    return t, r


def rel(a, b):
    a, b = np.asarray(a, dtype=float).reshape(-1), np.asarray(b, dtype=float).reshape(-1)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def main():
    matcalc = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    which = sys.argv[3:] or list(CASES)
    rng = np.random.default_rng(13)
    print("%-20s %12s %12s %12s %12s   %s" % ("case", "emitted C", "emitted np", "hand np",
                                              "torch", "emitted np / hand np"))
    with tempfile.TemporaryDirectory() as tmp:
        for case in which:
            d = data(case, rng)
            out = CASES[case][2]
            ref = hand_numpy(case, d)
            th, _ = best(lambda: hand_numpy(case, d), reps)
            fnp, names = load_numpy(emit(matcalc, "numpy", case), tmp, case)
            labels = ["value", "gradient", "hessian"]
            pos = labels.index(out)
            tn, r = best(lambda: fnp(*[d[n] for n in names]), reps)
            e_np = rel(r[pos], ref)
            fc, sig = load_c(emit(matcalc, "c", case), tmp, case)
            sizes = {"value": 1, out: ref.shape}
            if out == "hessian":
                sizes["gradient"] = ref.shape[0]
            dF = {k: np.asfortranarray(v) if isinstance(v, np.ndarray) else v
                  for k, v in d.items()}
            tc, r = best(lambda: call_c(fc, sig, dF, sizes), reps)
            e_c = rel(r[-1].reshape(ref.shape, order="F"), ref)
            tt, e_t = float("nan"), float("nan")
            if torch is not None:
                t = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                     for k, v in d.items()}
                tt, r = best(lambda: torch_run(case, t), reps)
                e_t = rel(r.detach().numpy(), ref)
            print("%-20s %10.4f s %10.4f s %10.4f s %10.4f s   %.2f   (rel diff C %.0e, "
                  "np %.0e, torch %.0e)" % (case, tc, tn, th, tt, tn / th, e_c, e_np, e_t))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
