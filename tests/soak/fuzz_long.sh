#!/bin/sh
# fuzz_long.sh - the long libFuzzer runs of docs/reliability.md (NOT in make
# check): each harness of tests/fuzz/ for up to RUNS executions or SECONDS,
# two at a time, with AddressSanitizer, UndefinedBehaviorSanitizer and
# LeakSanitizer. Builds build-fuzz/ with clang (-DVGMO_FUZZ=ON) first.
#
#   tests/soak/fuzz_long.sh [RUNS (default 10000000)] [SECONDS (default 600)]
#                           [HARNESS...] (default: config api trace report)
#
# Prints one line per harness: executions, seconds, executions/s, corpus
# size, peak RSS, and PASS or FAIL (a crash, a leak, a failed check, a
# timeout or an out-of-memory all stop libFuzzer with a non-zero status and
# leave crash-*/leak-*/timeout-* in build-fuzz/tests/fuzz/). New inputs go
# to a scratch corpus that is removed; the repository's seeds are only read.
set -eu
RUNS=${1:-10000000}
SECONDS_MAX=${2:-600}
[ $# -gt 2 ] && shift 2 || set -- config api trace report
root=$(cd "$(dirname "$0")/../.." && pwd)
bdir=$root/build-fuzz
CC=clang cmake -S "$root" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DVGMO_WERROR=ON -DVGMO_FUZZ=ON >/dev/null
cmake --build "$bdir" -j2 --target fuzz_all >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

run_one() {
	name=$1
	mkdir -p "$work/$name"
	start=$(date +%s)
	rc=0
	(cd "$bdir/tests/fuzz" &&
		ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		./fuzz_"$name" -runs="$RUNS" -max_total_time="$SECONDS_MAX" \
			-timeout=10 -rss_limit_mb=2048 -max_len=8192 \
			-print_final_stats=1 "$work/$name" \
			"$root/tests/fuzz/corpus/$name") >"$work/$name.log" 2>&1 || rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/$name.log")
	corpus=$(ls "$work/$name" | wc -l)
	secs=$((end - start))
	[ "$secs" -gt 0 ] || secs=1
	if [ "$rc" -eq 0 ]; then verdict=PASS; else verdict="FAIL (exit $rc)"; fi
	printf '%-12s executions %s in %s s (%s/s), new corpus %s, peak RSS %s MB: %s\n' \
		"fuzz_$name" "${execs:-?}" "$secs" "$(( ${execs:-0} / secs ))" \
		"$corpus" "${rss:-?}" "$verdict"
	if [ "$rc" -ne 0 ]; then tail -40 "$work/$name.log"; fi
	return "$rc"
}

# Two at a time (two cores).
status=0
while [ $# -gt 0 ]; do
	run_one "$1" & p1=$!
	p2=""
	if [ $# -gt 1 ]; then
		run_one "$2" & p2=$!
		shift
	fi
	shift
	wait $p1 || status=1
	[ -z "$p2" ] || wait $p2 || status=1
done
exit $status
