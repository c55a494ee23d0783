#!/usr/bin/env python3
"""The REPL of issue 11 in a pseudo-terminal: Ctrl-C drops the line being typed
(and an unfinished statement) instead of ending the session; bare help, quit
and exit; a statement typed over several lines is one history entry; :reset
forgets every name; a value given to a symmetric symbol is checked.

usage: repl_issue11_test.py MATCALC   (helpers from repl_test.py)"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import repl_test as rt  # noqa: E402


def reset_then(t, line, pattern, what):
    """:reset, then a statement whose output must match pattern."""
    t.send(":reset\r")
    t.expect(r"every name forgotten", ":reset says so")
    t.prompt("after :reset")
    t.send(line + "\r")
    t.expect(pattern, what)
    t.prompt("after " + line)


def session(exe, tmp):
    t = rt.Term(exe, rt.make_env(tmp))
    try:
        t.prompt("first prompt")
        # Ctrl-C while typing: the line is dropped, the session and its names stay
        t.send("let A : symmetric matrix(2, 2)\r")
        t.prompt("after let")
        t.send("grad(tr(A X")
        t.send("\x03")
        t.expect(r"\^C", "Ctrl-C echoed")
        t.prompt("a fresh prompt after Ctrl-C")
        # an unfinished statement is dropped too
        t.send("grad(tr(X^T\r")
        t.prompt("continuation prompt", more=True)
        t.send("\x03")
        t.prompt("back to the main prompt after Ctrl-C in a continuation")
        # the declaration survived: a non-symmetric value is refused
        t.send("A = [1 2; 3 4]\r")
        t.expect(r"A is declared symmetric, but this value is not symmetric", "symmetric value checked")
        t.prompt("after the refused value")
        # a statement over two lines is one history entry
        t.send("grad(tr(X^T\r")
        t.prompt("continuation", more=True)
        t.send("A X), X)\r")
        t.expect(r"^2 A X$", "the two-line statement ran")
        t.prompt("after the two-line statement")
        # bare help
        t.send("help\r")
        t.expect(r":reset", "help lists :reset")
        t.prompt("after help")
        # :reset forgets A (A becomes an undeclared, non-symmetric matrix again)
        reset_then(t, "grad(tr(X^T A X), X)", r"^A X \+ A(\^T|ᵀ) X$",
                   "after :reset A is not symmetric")
        t.send("exit\r")
        rt.check(t.wait() == 0, "exit leaves with status 0", t)
    finally:
        t.close()
    hist = rt.vis_decode(open(os.path.join(tmp, ".matcalc_history"), encoding="utf-8").read())
    rt.check("grad(tr(X^T A X), X)" in hist, "the two-line statement is one history entry", None,
             repr(hist[-300:]))
    rt.check("grad(tr(A X\n" not in hist and "grad(tr(X^T\n" not in hist,
             "a line dropped with Ctrl-C is not in the history", None,
             repr(hist[-300:]))
    t = rt.Term(exe, rt.make_env(tmp))
    try:
        t.prompt("second session")
        t.send("quit\r")
        rt.check(t.wait() == 0, "quit leaves with status 0", t)
    finally:
        t.close()


def session_interrupt(exe, tmp):
    """Ctrl-C while a statement runs stops it (between two matrix products, at
    most one product later) and keeps the session."""
    import time
    env = rt.make_env(tmp)
    # the default rules directory (an uninstalled build finds the source tree's):
    # :reset must keep it (it once became an empty list)
    env.pop("MATCALC_RULES", None)
    t = rt.Term(exe, env)
    try:
        t.prompt("first prompt")
        t.send("A = randn(1500, 1500); B = randn(1500, 1500)\r")
        t.prompt("after the values")
        # a dozen products of 1500x1500 matrices: seconds of work, if not stopped
        t.send("sum(A B A^T B^T A B^T A^T B A B A^T B^T A B A^T B^T A B^T A^T B A B A^T B^T)\r")
        time.sleep(1.0)
        start = time.monotonic()
        t.send("\x03")
        t.expect(r"error: interrupted: the statement was stopped \(Ctrl-C\)",
                 "Ctrl-C stops the running statement")
        rt.check(time.monotonic() - start < 5, "the statement stops within a few seconds", t)
        t.prompt("a prompt after the interrupted statement")
        t.send("eval(sum(A - A))\r")
        t.expect(r"^0$", "the session keeps its values")
        t.prompt("after eval")
        reset_then(t, "grad(x^T x, x)", r"^2 x$", "the rules are still found after :reset")
        t.send("quit\r")
        rt.check(t.wait() == 0, "quit after an interrupt leaves with status 0", t)
    finally:
        t.close()


def main():
    exe = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        session(exe, tmp)
    with tempfile.TemporaryDirectory() as tmp:
        session_interrupt(exe, tmp)
    print(f"{rt.passed} passed, {rt.failed} failed")
    sys.exit(1 if rt.failed else 0)


if __name__ == "__main__":
    main()
