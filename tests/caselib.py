"""Helpers shared by the Python test scripts: the C tables of string pairs
(tests/diff_cases.inc) and splitting text at top-level separators."""
import re

_LIT = r'"((?:[^"\\]|\\.)*)"'


def c_string_pairs(path):
    """The {"input", "output"} pairs of a C table of string literals."""
    text = open(path, encoding="utf-8").read()
    return [tuple(bytes(s, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
                  for s in m.groups())
            for m in re.finditer(r"\{\s*" + _LIT + r"\s*,\s*" + _LIT + r"\s*\}", text)]


def split_top(text, sep):
    """The parts of text between the separators sep that stand outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts
