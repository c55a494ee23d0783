#!/usr/bin/env python3
"""REPL test: drives the real matcalc binary in a pseudo-terminal (so that it
starts its libedit REPL), types statements and commands, and checks what the
terminal shows, the exit status and the history file.

usage: repl_test.py MATCALC

Every expectation waits for a regular expression in the terminal output (ANSI
escapes and carriage returns removed) with a timeout; a miss fails with the
transcript printed. Ends with `N passed, N failed` and exits 1 on any failure.
"""
import fcntl
import os
import pty
import re
import select
import struct
import sys
import tempfile
import termios
import time

# seconds per expectation: generous for sanitizer and valgrind runs
TIMEOUT = float(os.environ.get("REPL_TEST_TIMEOUT", "20"))
PROMPT = "matcalc> "
MORE = "   ...> "

passed = 0
failed = 0

CSI = re.compile(r"\x1b\[([0-?]*)[ -/]*([@-~])")
ESC_OTHER = re.compile(r"\x1b([()][0-9A-Za-z]|[=>78]|.)", re.S)


def render(raw):
    """The text the terminal shows: carriage returns, backspaces, cursor moves
    and clears applied (the few that libedit sends), trailing blanks dropped.
    So a test sees a line after libedit redrew it, not the keystrokes."""
    s = raw.decode("utf-8", "replace")
    lines, row, col = [[]], 0, 0
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\x1b":
            m = CSI.match(s, i)
            if m:
                n = int(m.group(1)) if m.group(1).isdigit() else 1
                final = m.group(2)
                if final == "G":
                    col = n - 1
                elif final == "C":
                    col += n
                elif final == "D":
                    col = max(0, col - n)
                elif final == "A":
                    row = max(0, row - n)
                elif final == "B":
                    row += n
                elif final == "K":
                    del lines[row][col:]
                elif final == "J":
                    del lines[row][col:]
                    del lines[row + 1:]
                i = m.end()
                continue
            m = ESC_OTHER.match(s, i)
            i = m.end() if m else i + 1
            continue
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
        elif ch == "\b":
            col = max(0, col - 1)
        elif ch >= " ":
            while len(lines) <= row:
                lines.append([])
            line = lines[row]
            while len(line) < col:
                line.append(" ")
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
        while len(lines) <= row:
            lines.append([])
        i += 1
    return "\n".join("".join(x).rstrip() for x in lines)


def vis_decode(s):
    """libedit stores history entries strvis-encoded (a space is \\040)."""
    raw = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), s.encode("utf-8"))
    return raw.decode("utf-8", "replace").replace("\\\\", "\\")


class Term:
    """matcalc running on the slave side of a pty; we hold the master."""

    def __init__(self, exe, env):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(exe, [exe], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.raw = b""
        self.pos = 0  # expectations search from here on
        self.status = None

    def send(self, text):
        os.write(self.fd, text.encode("utf-8"))

    def _read(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.fd], [], [], left)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            return False
        self.raw += data
        return True

    def text(self):
        return render(self.raw)

    def expect_line(self, pattern, what, timeout=TIMEOUT):
        """Waits until the line being edited (the last on screen) is pattern."""
        deadline = time.monotonic() + timeout
        while True:
            last = self.text().rsplit("\n", 1)[-1]
            if re.fullmatch(pattern, last):
                return check(True, what)
            if not self._read(deadline):
                last = self.text().rsplit("\n", 1)[-1]
                return check(re.fullmatch(pattern, last) is not None, what, self,
                             f"the line shows {last!r}, not {pattern!r}")

    def expect(self, pattern, what, timeout=TIMEOUT, flags=re.M):
        """Waits for pattern in the output after the previous match."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern, flags)
        while True:
            m = rx.search(self.text(), self.pos)
            if m:
                self.pos = m.end()
                return check(True, what)
            if not self._read(deadline):
                m = rx.search(self.text(), self.pos)
                if m:
                    self.pos = m.end()
                    return check(True, what)
                return check(False, what, self, f"no match for {pattern!r}")

    def prompt(self, what="prompt", more=False):
        """Waits for the prompt (the continuation prompt with more) as the last
        thing on screen, then for libedit to put the terminal in raw mode: a
        key sent before that is read by the tty's line discipline instead
        (echoed twice, and a Ctrl-D lost)."""
        shown = (MORE if more else PROMPT).rstrip()
        if not self.expect(r"^" + re.escape(shown) + r"\Z", what):
            return False
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                if not termios.tcgetattr(self.fd)[3] & termios.ICANON:
                    return True
            except termios.error:
                return True
            self._read(time.monotonic() + 0.01)
        return check(False, what + ": terminal in raw mode", self)

    def wait(self, timeout=TIMEOUT):
        """Reads until the child ends; returns its exit status (None: still running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(time.monotonic() + 0.2):
                    pass
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
            self._read(min(deadline, time.monotonic() + 0.2))
        return None

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        os.close(self.fd)


def check(ok, what, term=None, why=""):
    global passed, failed
    if ok:
        passed += 1
        return True
    failed += 1
    print(f"FAIL {what}" + (f": {why}" if why else ""))
    if term is not None:
        print("---- transcript ----")
        print(term.text())
        print("---- end ----")
    return False


def make_env(home, lc_all="C.UTF-8"):
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "EDITRC", "INPUTRC")}
    env["TERM"] = "xterm"
    env["LC_ALL"] = lc_all
    if home is not None:
        env["HOME"] = home
    return env


def session_main(exe, tmp):
    """The walk-through: declaration, error, expression, :vars, multi-line
    input, completion, commands, :latex, :quit, then the history file."""
    home = os.path.join(tmp, "home")
    os.mkdir(home)
    problem = os.path.join(tmp, "problem.mc")
    with open(problem, "w", encoding="utf-8") as f:
        f.write("let Z : matrix(p, q)\nf = tr(Z^T Z)\n")
    t = Term(exe, make_env(home))
    try:
        t.prompt("first prompt")
        t.send("let A : symmetric matrix(n, n)\n")
        t.prompt("prompt after a declaration")

        t.send("tarce(A)\n")
        t.expect(r"error: unknown function 'tarce' \(did you mean 'tr'\?\)\n",
                 "unknown function message")
        t.expect(r"^tarce\(A\)\n\^\n", "source line and caret under the error")
        t.prompt("the REPL goes on after an error")

        t.send("A^T + B\n")
        t.expect(r"^A(\^T)? \+ B\n", "an expression prints its form; A survived the error")
        t.prompt()

        t.send(":vars\n")
        t.expect(r"^A : symmetric matrix\(n, n\)\n", ":vars shows the declaration")
        t.expect(r"^B : matrix\([^)]*\)  \(implicit\)\n", ":vars shows an implicit declaration")
        t.prompt()

        t.send("tr(A\n")
        t.prompt(more=True, what="continuation prompt while a bracket is open")
        t.send(")\n")
        t.expect(r"^tr\(A\)\n", "the statement over two lines runs")
        t.prompt("back to the main prompt after the statement")

        t.send("tra\t")
        t.expect_line(re.escape(PROMPT) + r"trace", "TAB completes 'tra' to 'trace' on screen")
        t.send("(A A)\n")
        t.expect(r"^tr\(A(\^2|²| A)\)\n", "the completed line runs")
        t.prompt()

        t.send("si\t")
        t.expect(r"^sigmoid +sign +sin\n", "TAB lists the names that 'si' starts")
        t.expect_line(re.escape(PROMPT) + r"si", "the line is redrawn after the list")
        t.send("gm\t(A)\n")
        t.expect(r"^sigmoid\(A\)\n", "TAB completes after the list")
        t.prompt()

        t.send("let S : sym\t")
        t.expect_line(re.escape(PROMPT) + r"let S : symmetric", "TAB completes a keyword")
        t.send(" matrix(n, n)\n")
        t.prompt()
        t.send("let Θ : matrix(n, n)\n")  # UTF-8 typed through libedit
        t.prompt()
        t.send("The\t")
        t.expect_line(re.escape(PROMPT) + r"Theta", "TAB completes an ASCII Greek name")
        t.send(" + S\n")
        t.expect(r"^(Θ \+ S|S \+ Θ)\n", "the completed Greek name means Θ")
        t.prompt()

        t.send(":frobnicate\n")
        t.expect(r"^matcalc: unknown command ':frobnicate' \(try :help\)\n", "unknown command")
        t.prompt()
        t.send(":latex maybe\n")
        t.expect(r"^matcalc: :latex takes on or off, not 'maybe'\n", "bad argument of :latex")
        t.prompt()
        t.send(":seed x1\n")
        t.expect(r"^matcalc: :seed takes a whole number", "bad argument of :seed")
        t.prompt()
        t.send(":vars everything\n")
        t.expect(r"^matcalc: :vars takes no argument\n", "argument to a command without one")
        t.prompt()
        t.send(":load /nonexistent/file.mc\n")
        t.expect(r"^matcalc: cannot open /nonexistent/file\.mc: ", "missing :load file")
        t.prompt()

        t.send(f":load {problem}\n")
        t.prompt()
        t.send(":vars\n")
        t.expect(r"^A : symmetric matrix\(n, n\)\n", "declarations kept after errors")
        t.expect(r"^S : symmetric matrix\(n, n\)\n", "the completed declaration")
        t.expect(r"^Z : matrix\(p, q\)\n", ":load ran the file's declaration")
        t.expect(r"^f = tr\(Z\^T Z\)\n", ":vars shows a definition")
        t.prompt()

        start = t.pos
        t.send(":rules (37)\n")
        t.expect(r"^\[\w+\] .*@ MC \(37\)", ":rules PATTERN lists a matching rule with its citation")
        t.prompt()
        shown = t.text()[start:t.pos]
        check("(33)" not in shown, ":rules PATTERN leaves out the rules that do not match", t)

        t.send(":help\n")
        t.expect(r"^  :load FILE +run the statements of FILE\n", ":help lists the commands")
        t.expect(r"^  :quit +", ":help lists :quit")
        t.prompt()

        t.send(":st\t")
        t.expect_line(re.escape(PROMPT) + r":steps", "TAB completes a : command")
        t.send("of\t")
        t.expect_line(re.escape(PROMPT) + r":steps off", "TAB completes the argument of :steps")
        t.send("\n")
        t.prompt()
        t.send(":latex on\n")
        t.prompt()
        t.send("A\n")
        t.expect(r"^\\mathbf\{A\}\n", ":latex on prints LaTeX")
        t.prompt()
        t.send(":latex off\n")
        t.prompt()
        t.send("A\n")
        t.expect(r"^A\n", ":latex off prints plain text again")
        t.prompt()

        t.send("X +\n")  # no open bracket: an error, not a continuation
        t.expect(r"error: ", "an unfinished line without a bracket is an error")
        t.prompt()

        t.send("(A\n")
        t.prompt(more=True, what="continuation prompt")
        t.send(":vars\n")
        t.expect(r"^matcalc: unfinished statement dropped\n", "a command ends an unfinished statement")
        t.prompt("main prompt after the dropped statement")

        t.send(":quit\n")
        check(t.wait() == 0, ":quit exits 0 after errors", t, f"status {t.status}")
    finally:
        t.close()

    path = os.path.join(home, ".matcalc_history")
    if check(os.path.exists(path), "history file written", None, path):
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [vis_decode(x.rstrip("\n")) for x in f]
        check("let A : symmetric matrix(n, n)" in lines, "history holds the declaration", None,
              repr(lines))
        check(":quit" in lines, "history holds the last command", None, repr(lines))

    # a second session reads the history: Up recalls the last line
    t = Term(exe, make_env(home))
    try:
        t.prompt("second session")
        t.send("\x1b[A")
        t.expect_line(re.escape(PROMPT) + r":quit", "history loaded: Up recalls the last session")
        t.send("\x01\x0b")  # Ctrl-A Ctrl-K: empty the line
        t.expect_line(re.escape(PROMPT.rstrip()), "the line is emptied")
        t.send("\x04")  # Ctrl-D on an empty line
        check(t.wait() == 0, "Ctrl-D exits 0", t, f"status {t.status}")
    finally:
        t.close()


def session_no_home(exe):
    """$HOME unset: no history file, and the REPL works (in the C locale too)."""
    t = Term(exe, make_env(None, lc_all="C"))
    try:
        t.prompt("prompt without HOME")
        t.send("let y : vector(n)\n")
        t.prompt()
        t.send("y^T y\n")
        t.expect(r"^y\^T y\n", "works without HOME")
        t.prompt()
        t.send("θ^T y\n")  # LC_ALL=C: the REPL still reads UTF-8
        t.expect(r"^(θ\^T y|y\^T θ)\n", "a Greek name typed in the C locale")
        t.prompt()
        t.send(":quit\n")
        check(t.wait() == 0, "exit 0 without HOME", t, f"status {t.status}")
    finally:
        t.close()


def session_unwritable_home(exe, tmp):
    """A history file that cannot be written is not an error."""
    t = Term(exe, make_env(os.path.join(tmp, "no", "such", "dir")))
    try:
        t.prompt("prompt with an unwritable HOME")
        t.send("x^T x\n")
        t.expect(r"^x(\^T|ᵀ) x\n", "works with an unwritable HOME")
        t.prompt()
        t.send("tr(\n")
        t.prompt(more=True, what="continuation prompt")
        t.send("\x04")  # end of input inside a statement: reported, exit 0
        t.expect(r"error: ", "end of input inside a statement is reported")
        check(t.wait() == 0, "exit 0 with an unwritable HOME", t, f"status {t.status}")
    finally:
        t.close()


def session_pretty(exe, tmp):
    """--pretty is the REPL's default on a UTF-8 terminal (and :pretty off turns
    it off); :steps on prints the textbook derivation, :steps all every rule."""
    home = os.path.join(tmp, "home-pretty")
    os.mkdir(home)
    t = Term(exe, make_env(home))
    try:
        t.prompt("first prompt (UTF-8)")
        t.send(":pretty\n")
        t.expect(r"^pretty is on\n", "pretty is on by default on a UTF-8 terminal")
        t.prompt()
        t.send("grad(logdet(X), X)\n")
        t.expect(r"^X⁻ᵀ\n", "the pretty form: X⁻ᵀ")
        t.prompt()
        t.send("X⁻ᵀ + ‖y‖² A\n")
        t.expect(r"^‖y‖² A \+ X⁻ᵀ\n", "what it prints reads back")
        t.prompt()
        t.send(":pretty off\n")
        t.prompt()
        t.send("grad(logdet(X), X)\n")
        t.expect(r"^X\^-T\n", ":pretty off prints X^-T")
        t.prompt()
        t.send(":steps on\n")
        t.prompt()
        t.send("grad(||y - X θ||^2, θ)\n")
        t.expect(r"^grad\(\|\|y - X θ\|\|\^2, θ\)\n", ":steps on: the statement first")
        t.expect(r"^d\|\|y - X θ\|\|\^2 = 2 \(y - X θ\)\^T d\(y - X θ\) +\[MC \(131\)\]\n",
                 ":steps on: d f = ... with its citation")
        t.expect(r"^ +=.*\[MC \(33\), \(34\), \(35\), \(37\)\]\n", ":steps on: folded citations")
        t.expect(r"^grad\(\|\|y - X θ\|\|\^2, θ\) = 2 X\^T X θ - 2 X\^T y +\[read off the gradient\]\n",
                 ":steps on: the gradient last")
        t.prompt()
        t.send(":steps all\n")
        t.prompt()
        t.send(":steps\n")
        t.expect(r"^steps is all\n", ":steps shows all")
        t.prompt()
        t.send("grad(||y - X θ||^2, θ)\n")
        t.expect(r"^ += .*\[MC \(35\)\]\n", ":steps all: a line for MC (35) alone")
        t.expect(r"^ += .*\[MC \(34\)\]\n", ":steps all: a line for MC (34) alone")
        t.prompt()
        t.send(":steps off\n")
        t.prompt()
        t.send(":steps\n")
        t.expect(r"^steps is off\n", ":steps off after all")
        t.prompt()
        t.send(":quit\n")
        check(t.wait() == 0, "exit 0 after :pretty and :steps", t, f"status {t.status}")
    finally:
        t.close()


def session_reading(exe, tmp):
    """Pasted LaTeX and typed habits in the REPL (issue 10): letters as
    symbols, kinds from bold, a glued name beside the session's symbols
    refused with the product, a default kind named in the error, and the
    session going on after each."""
    home = os.path.join(tmp, "home-reading")
    os.mkdir(home)
    t = Term(exe, make_env(home))
    try:
        t.prompt("first prompt")
        t.send(":pretty off\n")
        t.prompt()
        t.send("grad(\\mathrm{tr}(XAX^\\top), X)\n")
        t.expect(r"^X A \+ X A\^T\n", "XAX^\\top is X A X^T: a gradient, not 0")
        t.prompt()
        t.send("\\boldsymbol{\\beta}^\\top\\mathbf{x}\n")
        t.expect(r"^β\^T x\n", "a bold β is a vector")
        t.prompt()
        t.send("let W, H : matrix(n, n)\n")
        t.prompt()
        t.send("tr(WH)\n")
        t.expect(r"error: 'WH' is not declared: did you mean W H\?", "WH beside the session's W and H")
        t.prompt("the REPL goes on after the glued name")
        t.send("y - X \\gamma\n")
        t.expect(r"by default γ is a scalar.*`let γ : vector\(n\)` changes that\)\n",
                 "a kind taken from the default is named with its let")
        t.prompt()
        t.send("let β : vector(m)\n")
        t.prompt()
        t.send("$\\nabla_{\\beta} \\|y - X\\beta\\|^2$\n")
        t.expect(r"^2 X\^T X β - 2 X\^T y\n", "after the let, the formula in dollars reads")
        t.prompt()
        t.send("check(grad(||y - X β||^2, β) = 2 X.T @ (X @ β - y))\n")
        t.expect(r"^equal\n", "NumPy habits in a check")
        t.prompt()
        t.send(":quit\n")
        check(t.wait() == 0, "exit 0 after the reading session", t, f"status {t.status}")
    finally:
        t.close()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: repl_test.py MATCALC")
    exe = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        session_main(exe, tmp)
        session_no_home(exe)
        session_unwritable_home(exe, tmp)
        session_pretty(exe, tmp)
        session_reading(exe, tmp)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
