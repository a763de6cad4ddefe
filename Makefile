# Thin wrapper around CMake. The two commands the README promises:
#   make run    install missing dependencies, build, run vgmo
#   make check  install missing dependencies, build, run every test twice
#               (plain and with AddressSanitizer + UndefinedBehaviorSanitizer)
BUILD     ?= build
ASAN      ?= build-asan
PREFIX    ?= /usr/local
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_OPT ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVGMO_WERROR=ON

.PHONY: all deps build run check test test-asan install format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_OPT) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	cmake --build $(BUILD) -j $(JOBS)

# The daemon on the default backend (NVML when a driver answers, else the
# simulated GPU), state kept under the build folder. Ctrl-C stops it.
run: build
	./$(BUILD)/vgmo serve --state-dir $(BUILD)/state

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DVGMO_WERROR=ON -DVGMO_SANITIZE=ON
	cmake --build $(ASAN) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN) --output-on-failure -j $(JOBS)

check: test test-asan

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

format:
	clang-format -i include/vgmo/*.h lib/*.c lib/*.h src/*.c src/*.h tests/*.c tests/*.h

clean:
	rm -rf $(BUILD) $(ASAN)
