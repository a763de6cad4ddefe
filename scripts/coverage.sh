#!/bin/sh
# Line and branch coverage of libvgmo and the vgmo program by the test
# suite: builds with --coverage into a folder of its own (default
# build-cov), runs every test but the soak ones, and prints gcovr's summary
# (per file with VERBOSE=1). Needs gcovr (scripts/install-deps.sh installs
# it). Usage: scripts/coverage.sh [BUILD_DIR]
set -eu

BUILD=${1:-build-cov}
JOBS=$(nproc 2>/dev/null || echo 2)
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v gcovr >/dev/null 2>&1; then
	echo "coverage: gcovr not found (Debian: apt-get install gcovr, or scripts/install-deps.sh)" >&2
	exit 1
fi
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS="--coverage -fprofile-update=atomic" -DCMAKE_EXE_LINKER_FLAGS=--coverage \
	-DCMAKE_SHARED_LINKER_FLAGS=--coverage >/dev/null
cmake --build "$BUILD" -j "$JOBS" >/dev/null
find "$BUILD" -name '*.gcda' -delete
ctest --test-dir "$BUILD" -j "$JOBS" -E soak --output-on-failure >"$BUILD/coverage-tests.log" 2>&1 ||
	{ echo "coverage: tests failed; see $BUILD/coverage-tests.log" >&2; exit 1; }
if [ "${VERBOSE:-0}" = 1 ]; then
	gcovr -r "$ROOT" --object-directory "$BUILD" --filter "$ROOT/lib/" --filter "$ROOT/src/" \
		--exclude-unreachable-branches --exclude-throw-branches -s
else
	gcovr -r "$ROOT" --object-directory "$BUILD" --filter "$ROOT/lib/" --filter "$ROOT/src/" \
		--exclude-unreachable-branches --exclude-throw-branches -s | tail -3
fi
