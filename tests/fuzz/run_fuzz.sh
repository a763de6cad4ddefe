#!/bin/sh
# run_fuzz.sh - one libFuzzer harness for a bounded time (ctest, make fuzz).
#
#   run_fuzz.sh HARNESS CORPUS_DIR SECONDS [more libFuzzer flags]
#
# New inputs go to a scratch directory (removed after), so the seed corpus
# in the repository is only read. Leaks are checked (ASan's LeakSanitizer).
# Prints the number of executions; fails on any crash, leak, timeout or
# failed check, leaving the reproducer in the current directory.
set -eu
harness=$1
corpus=$2
seconds=$3
shift 3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT INT TERM
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len=8192 -print_final_stats=1 "$@" "$scratch" "$corpus" 2>"$scratch.log" ||
	{ rc=$?; tail -60 "$scratch.log" >&2; rm -f "$scratch.log"; exit $rc; }
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )' "$scratch.log" || true
rm -f "$scratch.log"
