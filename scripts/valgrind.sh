#!/bin/sh
# valgrind.sh - the test suite under valgrind memcheck (make valgrind;
# docs/reliability.md records a run). Needs a built tree (default build/).
#
#   scripts/valgrind.sh [BUILD_DIR]
#
# 1. Every C test executable of BUILD_DIR/tests (cmocka: config, engine,
#    model, sim, status JSON, NVML through the fake library, state, metrics,
#    API parsing, planner, traces, benchmark, C client, shares), run under
#    memcheck.
# 2. The daemon itself under memcheck, driven by the Python end-to-end
#    tests (test_daemon.py, test_json_edge.py, test_client_abuse.py,
#    test_abuse.py, test_faults.py's NVML cases): they start BUILD_DIR/vgmo
#    through a wrapper that runs it under valgrind, one log per process.
#    (test_client.py passes memcheck too, but its timing assertions do not
#    hold at valgrind's speed; it is left out.)
# Fails on any memcheck error (invalid read or write, use of uninitialised
# memory, bad free) or any definitely or indirectly lost block; "possibly
# lost" (thread stacks, libraries' caches at exit) is reported, not failed.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT INT TERM
VG="valgrind --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=definite,indirect --error-exitcode=97 \
--num-callers=30 --trace-children=no"
export VGMO_TEST_SRC="$root/tests" VGMO_TEST_BIN="$build"
failed=0

echo "== C tests under memcheck"
for t in "$build"/tests/test_*; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	name=$(basename "$t")
	start=$(date +%s)
	if $VG --log-file="$logs/$name.log" "$t" >"$logs/$name.out" 2>&1; then
		printf '%-20s ok   (%ss) %s\n' "$name" "$(($(date +%s) - start))" \
			"$(grep -h 'ERROR SUMMARY' "$logs/$name.log" | sed 's/==[0-9]*== //' | head -1)"
	else
		printf '%-20s FAIL\n' "$name"
		tail -20 "$logs/$name.out"
		grep -v '^==[0-9]*== *$' "$logs/$name.log" | tail -60
		failed=1
	fi
done

echo "== the daemon under memcheck, driven by the end-to-end tests"
wrapper=$logs/vgmo
cat >"$wrapper" <<WRAP
#!/bin/sh
exec $VG --log-file="$logs/vgmo.%p.log" "$build/vgmo" "\$@"
WRAP
chmod +x "$wrapper"
for t in test_daemon test_json_edge test_client_abuse test_abuse; do
	start=$(date +%s)
	if VGMO_UNDER_VALGRIND=1 python3 "$root/tests/$t.py" "$wrapper" \
		>"$logs/$t.out" 2>&1; then
		printf '%-20s ok   (%ss)\n' "$t" "$(($(date +%s) - start))"
	else
		printf '%-20s FAIL\n' "$t"
		tail -30 "$logs/$t.out"
		failed=1
	fi
done
start=$(date +%s)
if VGMO_UNDER_VALGRIND=1 python3 "$root/tests/test_faults.py" "$wrapper" \
	"$build/tests/fake_nvml" Nvml >"$logs/test_faults.out" 2>&1; then
	printf '%-20s ok   (%ss)\n' "test_faults (NVML)" "$(($(date +%s) - start))"
else
	printf '%-20s FAIL\n' "test_faults (NVML)"
	tail -30 "$logs/test_faults.out"
	failed=1
fi
n=0
for log in "$logs"/vgmo.*.log; do
	[ -f "$log" ] || continue
	n=$((n + 1))
	if grep -q 'ERROR SUMMARY: [1-9]' "$log" ||
		grep -Eq '(definitely|indirectly) lost: [1-9]' "$log"; then
		echo "memcheck errors in a daemon run:"
		grep -v '^==[0-9]*== *$' "$log" | tail -80
		failed=1
	fi
done
echo "$n daemon processes checked"
[ "$failed" -eq 0 ] && echo "valgrind: no errors, no leaks" || echo "valgrind: FAILED"
exit "$failed"
