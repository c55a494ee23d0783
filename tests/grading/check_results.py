#!/usr/bin/env python3
"""Checks results.json files against Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format"):
a top-level score (number) and output (string), and tests[], each with name
(string), score and max_score (numbers, 0 <= score <= max_score), status
("passed" or "failed"), output (string) and visibility (one of "hidden",
"after_due_date", "after_published", "visible"); the top-level score is the
sum of the tests' scores. Prints one line per file; exit 1 on the first
violation."""
import json
import sys

VIS = {"hidden", "after_due_date", "after_published", "visible"}

for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    def fail(msg):
        print(f"{path}: {msg}")
        sys.exit(1)
    if not isinstance(d.get("score"), (int, float)):
        fail("no numeric score")
    if not isinstance(d.get("output"), str):
        fail("no output string")
    tests = d.get("tests")
    if not isinstance(tests, list) or not tests:
        fail("no tests[]")
    total = 0
    for t in tests:
        for k in ("name", "output", "status", "visibility"):
            if not isinstance(t.get(k), str):
                fail(f"a test without {k}")
        for k in ("score", "max_score"):
            if not isinstance(t.get(k), (int, float)):
                fail(f"a test without numeric {k}")
        if not 0 <= t["score"] <= t["max_score"]:
            fail(f"test {t['name']}: score outside 0..max_score")
        if t["status"] not in ("passed", "failed"):
            fail(f"test {t['name']}: status {t['status']}")
        if t["visibility"] not in VIS:
            fail(f"test {t['name']}: visibility {t['visibility']}")
        total += t["score"]
    if abs(total - d["score"]) > 1e-9:
        fail(f"score {d['score']} is not the sum of the tests' {total}")
    print(f"{path.split('/')[-2]}/results.json: {len(tests)} tests, score {d['score']}")
