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
log=$(mktemp)
{
	rc=0
	meson test -C "$build" --num-processes 2 --print-errorlogs || rc=$?
	echo "$rc" >"$log.rc"
} | tee "$log"
status=$(cat "$log.rc")
# one closing line a CI reader understands, from meson's own summary
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
timeout=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
rm -f "$log" "$log.rc"
echo "$build: ${ok:-0} passed, $(( ${fail:-0} + ${timeout:-0} )) failed"
exit "$status"
