#!/bin/sh
# Installs what matcalc needs on Debian 12 and is not there yet (run as root).
#   sh tests/install-deps.sh          build dependencies
#   sh tests/install-deps.sh --test   also what the test suite needs (numpy, node + KaTeX, chromium)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkgs="build-essential meson ninja-build flex bison check pkg-config libopenblas-dev liblapacke-dev libedit-dev"
if [ "${1:-}" = "--test" ]; then
	# chromium: tests/test_render.py renders derivations with KaTeX in it, headless
	pkgs="$pkgs python3 python3-numpy groff-base chromium"
	# Node.js may come from elsewhere already (nodesource); Debian's would conflict with it.
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# python3-numpy is only of use to Debian's own python3
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null
fi
if [ "${1:-}" = "--test" ] && [ ! -f "$here/node_modules/katex/package.json" ]; then
	npm install --prefix "$here" --no-audit --no-fund --loglevel=error katex >/dev/null
fi
