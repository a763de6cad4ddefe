#!/bin/sh
# crash_soak.sh - the long SIGKILL loop of docs/reliability.md (NOT in make
# check, which runs 40 kills): tests/test_crash.py with KILLS kills (default
# 250) against VGMO (default build/vgmo), twice: on the plain build and, when
# build-asan/vgmo exists, under AddressSanitizer + UBSan.
#
#   tests/soak/crash_soak.sh [KILLS] [VGMO]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
kills=${1:-250}
vgmo=${2:-$root/build/vgmo}
seed=$(date +%s)
python3 "$root/tests/test_crash.py" "$vgmo" --kills "$kills" --seed "$seed"
if [ $# -lt 2 ] && [ -x "$root/build-asan/vgmo" ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		python3 "$root/tests/test_crash.py" "$root/build-asan/vgmo" \
		--kills "$kills" --seed "$((seed + 1))"
fi
