#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for SECONDS
# (default 60) from its seeds; fails on any crash, leak, timeout or out-of-memory
# file the fuzzer writes.   usage: sh tests/fuzz/run.sh [SECONDS]
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$build" src/libmatcalc.a src/libmcgrammar.a >/dev/null
status=0
for t in parse statements rules; do
	clang -fsanitize=fuzzer,address,undefined -Werror=implicit-function-declaration -g -O1 -Isrc -I"$build" -I"$build/grammar" \
		"tests/fuzz/fuzz_$t.c" "$build/src/libmatcalc.a" "$build/src/libmcgrammar.a" \
		-lopenblas -llapacke -lm -o "$build/fuzz_$t"
	seeds=tests/fuzz/seeds_$t
	[ "$t" = parse ] && seeds=tests/fuzz/seeds
	out=$build/fuzz-$t
	rm -rf "$out/crashes"
	mkdir -p "$out/corpus" "$out/crashes"
	echo "== fuzz_$t for $secs s"
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 OPENBLAS_NUM_THREADS=1 \
		"$build/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-dict=tests/fuzz/matcalc.dict -artifact_prefix="$out/crashes/" \
		-print_final_stats=1 "$out/corpus" "$seeds" 2>"$out/log" || status=1
	grep -E "^stat::number_of_executed_units|Done [0-9]+ runs" "$out/log" || true
	if [ -n "$(ls -A "$out/crashes")" ]; then
		echo "fuzz_$t found:" "$out"/crashes/*
		tail -n 40 "$out/log"
		status=1
	fi
done
exit "$status"
