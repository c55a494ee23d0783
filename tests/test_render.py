#!/usr/bin/env python3
"""The rendering test: derivations rendered by KaTeX in headless Chromium, as a
reader sees them, with one browser start for everything.

usage: test_render.py MATCALC [OUTDIR]

Checks:
  - the course exercises' derivations (`--steps --latex`): every rendered
    line fits a printed page at 11 pt: the article class's 360 pt text width,
    with the math at 11 pt. The width measured is the align's (its widest
    left side plus its widest right side); the tags are left out, because
    amsmath sets a tag that does not fit beside its line on a line of its own;
  - docs/examples.html (docs/gen_examples_html.py) renders every $$ block
    without a KaTeX error, and its screenshot is written to OUTDIR
    (default: the current directory) as examples.png.
Needs Debian's chromium and KaTeX in tests/node_modules (tests/install-deps.sh
--test). Prints `N passed, N failed`; exits 1 on a failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KATEX = os.path.join(ROOT, "tests", "node_modules", "katex", "dist")
PAGE_PT = 360  # \textwidth of the article class at 11 pt
PX_PER_PT = 96 / 72

# the course's exercises (README.md) and the first one's unexpanded form
EXERCISES = [
    "grad(y^T y - 2 y^T X θ + θ^T X^T X θ, θ)",
    "grad(||Y^T - X^T Θ||_F^2, Θ)",
    "solve(grad(||Y^T - X^T Θ||_F^2, Θ) = 0, Θ)",
    "grad(tr(Θ^T X X^T Θ), Θ)",
    "grad(||y - X θ||^2, θ)",
    "grad(||y - X θ||^2 + λ ||θ||^2, θ)",
]

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-file-access-from-files", "--hide-scrollbars",
]

passed = failed = 0


def ok(name):
    global passed
    passed += 1
    print(f"ok   {name}")


def fail(name, detail=""):
    global failed
    failed += 1
    print(f"FAIL {name}" + (f": {detail}" if detail else ""))


def align_block(text):
    lines = text.split("\n")
    start = [i for i, l in enumerate(lines) if l.startswith("\\begin{align*}")]
    end = [i for i, l in enumerate(lines) if l.startswith("\\end{align*}")]
    return "\n".join(lines[start[0]:end[0] + 1]) if start and end else None


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(exe, tmp, url, extra):
    args = [exe] + CHROMIUM_FLAGS + [f"--user-data-dir={os.path.join(tmp, 'profile')}",
                                     "--virtual-time-budget=5000"] + extra + [url]
    p = subprocess.run(args, capture_output=True, timeout=180)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def measure_page(items):
    """An HTML page that renders each block at 11 pt and writes the widths."""
    data = json.dumps(items)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="file://{KATEX}/katex.min.css">
<script src="file://{KATEX}/katex.min.js"></script>
<style>body {{ font-size: 11pt; }} .b {{ width: 10000px; }}</style></head>
<body><pre id="result"></pre><div id="blocks"></div>
<script>
const items = {data};
const out = [];
for (const it of items) {{
  const div = document.createElement("div");
  div.className = "b";
  document.getElementById("blocks").appendChild(div);
  try {{
    katex.render(it.tex, div, {{displayMode: true, throwOnError: true}});
    // the math (the widest row of the align) and the widest tag beside it
    // (the class names are base and tag, or katex-base and katex-tag in newer KaTeX)
    const kids = [...div.querySelector(".katex-html").children];
    const istag = e => /(^| )(katex-)?tag( |$)/.test(e.className);
    const base = kids.filter(e => !istag(e)).reduce((w, e) => w + e.getBoundingClientRect().width, 0);
    const tag = Math.max(0, ...kids.filter(istag).map(e => e.getBoundingClientRect().width));
    out.push({{src: it.src, base: base, tag: tag}});
  }} catch (e) {{
    out.push({{src: it.src, error: String(e)}});
  }}
}}
document.getElementById("result").textContent = "RESULT" + JSON.stringify(out) + "END";
</script></body></html>
"""


def main():
    args = sys.argv[1:]
    if not args or len(args) > 2:
        raise SystemExit(__doc__)
    exe = os.path.abspath(args[0])
    outdir = os.path.abspath(args[1]) if len(args) > 1 else os.getcwd()
    browser = chromium()
    if not browser:
        print("chromium is not installed: run `sh tests/install-deps.sh --test`")
        return 1
    if not os.path.exists(os.path.join(KATEX, "katex.min.js")):
        print("KaTeX is not installed: run `sh tests/install-deps.sh --test`")
        return 1
    env = dict(os.environ)
    env.setdefault("MATCALC_RULES", os.path.join(ROOT, "rules"))
    env["LC_ALL"] = "C.UTF-8"
    items = []
    for stmt in EXERCISES:
        p = subprocess.run([exe, "--steps", "--latex", "-e", stmt], capture_output=True,
                           env=env, timeout=120)
        block = align_block(p.stdout.decode("utf-8"))
        if p.returncode != 0 or not block:
            fail(f"{stmt}: --steps --latex gives an align* block", p.stderr.decode())
            continue
        items.append({"src": stmt, "tex": block})
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "measure.html")
        with open(page, "w", encoding="utf-8") as f:
            f.write(measure_page(items))
        rc, dom = run_chromium(browser, tmp, "file://" + page, ["--dump-dom"])
        start, end = dom.find("RESULT"), dom.find("END</pre>")
        if rc != 0 or start < 0 or end < 0:
            fail("chromium renders the derivations", f"status {rc}")
        else:
            import html
            for r in json.loads(html.unescape(dom[start + 6:end])):
                name = f"{r['src']}: rendered lines fit {PAGE_PT} pt at 11 pt"
                if "error" in r:
                    fail(name, r["error"])
                    continue
                # the math; a tag that does not fit beside it goes on a line of
                # its own in LaTeX (amsmath), so it cannot widen the line
                width_pt = r["base"] / PX_PER_PT
                if width_pt <= PAGE_PT:
                    ok(f"{name} ({width_pt:.0f} pt, tags {r['tag'] / PX_PER_PT:.0f} pt)")
                else:
                    fail(name, f"{width_pt:.0f} pt wide (math {r['base'] / PX_PER_PT:.0f} pt, tag {r['tag'] / PX_PER_PT:.0f} pt)")

        # the examples page: rendered without an error, and a screenshot of it
        html_page = os.path.join(ROOT, "docs", "examples.html")
        rc, dom = run_chromium(browser, tmp, "file://" + html_page, ["--dump-dom"])
        if rc == 0 and 'data-rendered="ok"' in dom and dom.count('class="katex-display"') > 10:
            ok("docs/examples.html renders every $$ block with KaTeX")
        else:
            fail("docs/examples.html renders every $$ block with KaTeX",
                 "katex-failed" in dom and "a block failed" or f"status {rc}")
        shot = os.path.join(outdir, "examples.png")
        if os.path.exists(shot):
            os.unlink(shot)
        rc, _ = run_chromium(browser, tmp, "file://" + html_page,
                             [f"--screenshot={shot}", "--window-size=1000,2400"])
        if rc == 0 and os.path.exists(shot) and os.path.getsize(shot) > 10000:
            ok(f"screenshot of docs/examples.html ({shot})")
        else:
            fail("screenshot of docs/examples.html", f"status {rc}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
