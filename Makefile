# Thin wrapper around CMake. The two commands the README promises:
#   make run    install missing build dependencies, build vgmo, run it
#   make check  install missing dependencies, build, run every test twice
#               (plain and with AddressSanitizer + UndefinedBehaviorSanitizer),
#               and the daemon and client tests under ThreadSanitizer
BUILD     ?= build
ASAN      ?= build-asan
TSAN      ?= build-tsan
PREFIX    ?= /usr/local
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_OPT ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVGMO_WERROR=ON
FUZZ      ?= build-fuzz
FUZZ_SECONDS ?= 10
PYTHON    ?= python3

.PHONY: all deps build run check test test-asan test-tsan fuzz valgrind bench install format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_OPT) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS)

# The daemon on the default backend (NVML when a driver answers, else the
# simulated GPU), state kept under the build folder. Builds only `vgmo`,
# one line per step (the log: $(BUILD)/make-run.log). Ctrl-C stops it.
run:
	@scripts/run.sh $(BUILD) $(JOBS) $(CMAKE_OPT) -DCMAKE_INSTALL_PREFIX=$(PREFIX)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DVGMO_WERROR=ON -DVGMO_SANITIZE=ON
	cmake --build $(ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN) --output-on-failure -j $(JOBS)

# The threaded parts under ThreadSanitizer: the daemon (its loop, HTTP
# threads, signal thread) driven by the end-to-end tests, and the C client.
# A daemon's report fails its test (relylib.py and test_daemon.py read its
# stderr for "Sanitizer").
TSAN_TESTS = ^(test_daemon|test_client|test_client_c|test_client_abuse|test_abuse|test_engine|test_engine_cleanup|test_shares|test_leases)$$
test-tsan: deps
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug -DVGMO_WERROR=ON -DVGMO_TSAN=ON
	cmake --build $(TSAN) -j $(JOBS) --target vgmo test_client_c test_engine test_engine_cleanup test_shares test_leases
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --test-dir $(TSAN) -R '$(TSAN_TESTS)' --output-on-failure -j $(JOBS)

# The fuzz harnesses of tests/fuzz/ under libFuzzer (clang, with ASan and
# UBSan), FUZZ_SECONDS each. Without clang's libFuzzer it says so and stops
# there: make test and test-asan replay the same harnesses over their seed
# corpus plus random mutations in any case. Long runs: tests/soak/fuzz_long.sh.
fuzz: deps
	@if command -v clang >/dev/null 2>&1 && \
	    echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }' | \
	    clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then \
		CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVGMO_WERROR=ON \
			-DVGMO_FUZZ=ON -DVGMO_FUZZ_SECONDS=$(FUZZ_SECONDS) && \
		cmake --build $(FUZZ) -j $(JOBS) --target fuzz_all && \
		ctest --test-dir $(FUZZ) -L fuzz --output-on-failure -j $(JOBS); \
	else \
		echo "make fuzz: clang with libFuzzer not found (Debian: clang libclang-rt-14-dev); skipped"; \
	fi

# The C tests, and the daemon driven by the end-to-end tests, under valgrind
# memcheck (scripts/valgrind.sh; minutes, not part of check).
valgrind: build
	scripts/valgrind.sh $(BUILD)

# Every number of docs/benchmarks.md, regenerated (minutes; not a test).
bench: build
	scripts/bench-docs.sh $(BUILD)

check: test test-asan test-tsan fuzz

# The program, the library, the header, vgmo.pc, the man page, the bash and
# zsh completions, and the Python package (pip, offline: python/ builds
# with the standard library alone), all under $(PREFIX), within $(DESTDIR).
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
	$(PYTHON) -m pip install --no-deps --no-index --no-warn-script-location \
		--prefix $(PREFIX) $(if $(DESTDIR),--root $(DESTDIR)) ./python

format:
	clang-format -i include/vgmo/*.h lib/*/*.c lib/*/*.h src/*/*.c src/*/*.h tests/*.c tests/*.h \
		tests/fuzz/*.c tests/fuzz/*.h

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN) $(FUZZ)
