#!/usr/bin/env python3
"""The grading trial: every answer of tests/grading/trial.txt checked with
`matcalc --format=json -e LETS -e 'check(PROBLEM = ANSWER)'`, its verdict and
diagnosis compared with the expected ones (format in trial.txt). A wrong
answer called `equal` fails the test, whatever else it says.

usage: trial_test.py MATCALC [TRIAL]   prints a summary; exit 1 on a mismatch."""
import json
import os
import subprocess
import sys


def load(path):
    problems, cur = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                cur = {"id": line.split("]")[0][1:], "title": line, "lets": [], "problem": None,
                       "answers": []}
                problems.append(cur)
            elif line.startswith("source:"):
                cur["source"] = line[7:].strip()
            elif line.startswith("let "):
                cur["lets"].append(line)
            elif line.startswith("problem:"):
                cur["problem"] = line[8:].strip()
            elif "=>" in line:
                ans, want = line.rsplit("=>", 1)
                want = want.strip()
                pending = want.startswith("pending-reading ")
                if pending:
                    want = want[len("pending-reading "):]
                verdict, _, diag = want.partition(":")
                verdict = verdict.strip()
                if verdict not in ("equal", "not equal"):
                    raise SystemExit(f"{path}:{lineno}: verdict must be equal or not equal")
                cur["answers"].append({"answer": ans.strip(), "verdict": verdict,
                                       "diag": diag.strip(), "pending": pending,
                                       "line": lineno})
            else:
                raise SystemExit(f"{path}:{lineno}: cannot read: {line}")
    return problems


def main():
    exe = os.path.abspath(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "grading", "trial.txt")
    problems = load(path)
    env = dict(os.environ, LC_ALL="C.UTF-8")
    fails, counts = [], {"equal": 0, "not equal": 0, "pending": 0, "diagnosed": 0}
    for p in problems:
        for a in p["answers"]:
            args = [exe, "--format=json", "--seed", "7"]
            for let in p["lets"]:
                args += ["-e", let]
            args += ["-e", f"check({p['problem']} = {a['answer']})"]
            r = subprocess.run(args, capture_output=True, env=env, timeout=60)
            lines = [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]
            last = lines[-1] if lines else {}
            where = f"{path}:{a['line']}: [{p['id']}] {a['answer']}"
            if last.get("status") == "error" or not lines:
                if a["pending"]:
                    counts["pending"] += 1
                    continue
                msg = last.get("error", {}).get("message", r.stderr.decode().strip())
                fails.append(f"{where}: input error: {msg}")
                continue
            got = "equal" if last.get("verdict") == "holds" else "not equal"
            diag = last.get("diagnosis", "")
            if got == "equal" and a["verdict"] != "equal":
                fails.append(f"{where}: A WRONG ANSWER WAS ACCEPTED")
                continue
            if got != a["verdict"]:
                fails.append(f"{where}: {got}, expected {a['verdict']} "
                             f"({diag or last.get('output', '').strip()})")
                continue
            if a["diag"] and a["diag"] not in diag:
                fails.append(f"{where}: diagnosis '{diag}', expected '{a['diag']}'")
                continue
            if r.returncode != (0 if got == "equal" else 1):
                fails.append(f"{where}: exit status {r.returncode}")
                continue
            counts[got] += 1
            counts["diagnosed"] += bool(diag)
    n = sum(len(p["answers"]) for p in problems)
    for f in fails:
        print("FAIL", f)
    print(f"{n} answers to {len(problems)} problems: {counts['equal']} correct ones accepted, "
          f"{counts['not equal']} wrong ones rejected ({counts['diagnosed']} with a diagnosis), "
          f"{counts['pending']} pending the reading work, {len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
