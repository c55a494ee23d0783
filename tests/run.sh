#!/bin/sh
# Installs what is missing, builds matcalc and runs the whole test suite.
#   BUILD=dir (default build) and MESON_ARGS (e.g. -Db_sanitize=address,undefined) choose the build.
set -eu
cd "$(dirname "$0")/.."
sh tests/install-deps.sh --test
build=${BUILD:-build}
if [ ! -f "$build/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson setup "$build" ${MESON_ARGS:-}
fi
ninja -C "$build"
meson test -C "$build" --num-processes 2 --print-errorlogs
