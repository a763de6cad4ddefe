#!/bin/sh
# shellcheck disable=SC2086,SC2016 # word splitting wanted; literal $ORIGIN
# Builds what scripts/device-check.sh needs on a GPU machine that has no
# Debian -dev packages: run it HERE (Debian with the -dev packages that
# scripts/install-deps.sh installs), then bring build-device/ along.
#
#   build-device/vgmo        the program; jansson linked statically, the
#                            other libraries it needs (libmicrohttpd,
#                            libcurl, ... as CMakeLists.txt lists them)
#                            found in build-device/lib through
#                            RPATH=$ORIGIN/lib
#   build-device/lib/        those shared libraries and everything they
#                            load, except glibc's own
#   build-device/bench_nvml  the NVML sampling benchmark, for the real
#                            driver (no fake library compiled in)
#
# Plain compiler lines, not CMake, so that nothing in the project's build
# changes. Environment: CC (default gcc), JANSSON_A (the static jansson).
set -eu
cd "$(dirname "$0")/.."

OUTDIR=build-device
CC=${CC:-gcc}
JANSSON_A=${JANSSON_A:-/usr/lib/x86_64-linux-gnu/libjansson.a}
# lib/ has a folder per layer, each on the library's include path; the
# program sees include/ and lib/tool-internal/ only, as in CMakeLists.txt.
LIBDIRS=$(for d in lib/*/; do printf -- '-I%s ' "${d%/}"; done)
CFLAGS="-std=c11 -O2 -g -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude"

if [ ! -f "$JANSSON_A" ] || [ ! -f /usr/include/jansson.h ]; then
	echo "device-bundle: $JANSSON_A or jansson.h missing" \
		"(apt-get install libjansson-dev)" >&2
	exit 1
fi
# Every pkg-config module the top-level CMakeLists.txt requires, but jansson.
MODULES=$(sed -n 's/^pkg_check_modules([A-Za-z_]* REQUIRED IMPORTED_TARGET \([^ )]*\)).*/\1/p' \
	CMakeLists.txt | grep -v '^jansson$' | tr '\n' ' ')
LIBS=""
INCS=""
if [ -n "$MODULES" ]; then
	LIBS=$(pkg-config --libs $MODULES)
	INCS=$(pkg-config --cflags $MODULES)
fi

rm -rf "$OUTDIR"
mkdir -p "$OUTDIR/obj" "$OUTDIR/lib"
for f in lib/*/*.c; do
	$CC $CFLAGS $LIBDIRS -fvisibility=hidden -DVGMO_BUILDING_LIB -c "$f" \
		-o "$OUTDIR/obj/lib_$(basename "$f" .c).o"
done
for f in src/*/*.c; do
	$CC $CFLAGS $INCS -Ilib/tool-internal -Isrc/common -Isrc/cmd -Isrc/daemon -c "$f" \
		-o "$OUTDIR/obj/src_$(basename "$f" .c).o"
done
# DT_RPATH (not RUNPATH) so that it also serves the libraries' own deps.
$CC -o "$OUTDIR/vgmo" "$OUTDIR"/obj/*.o "$JANSSON_A" $LIBS -lpthread -ldl -lm \
	-Wl,--disable-new-dtags -Wl,-rpath,'$ORIGIN/lib' # literal $ORIGIN
$CC $CFLAGS $LIBDIRS -o "$OUTDIR/bench_nvml" bench/bench_nvml.c lib/backend/backend_nvml.c \
	lib/backend/nvml_device.c lib/backend/nvml_loader.c lib/backend/nvml_worker.c lib/util/util.c \
	lib/util/error.c -lpthread -ldl -lm
rm -rf "$OUTDIR/obj"

# The shared libraries vgmo loads, but glibc's own (the GPU machine has a
# newer glibc, which runs what was linked against this one).
ldd "$OUTDIR/vgmo" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
	while read -r so; do
		case "$(basename "$so")" in
		libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | \
			librt.so.* | libresolv.so.* | libutil.so.* | \
			libanl.so.* | libnss_*.so.* | ld-linux*.so.*) ;;
		*) cp -L "$so" "$OUTDIR/lib/" ;;
		esac
	done

# Fail here rather than on the GPU machine.
if ldd "$OUTDIR/vgmo" | grep -q -e jansson -e 'not found'; then
	echo "device-bundle: $OUTDIR/vgmo: jansson is dynamic or a library" \
		"is missing" >&2
	ldd "$OUTDIR/vgmo" >&2
	exit 1
fi
if ldd "$OUTDIR/vgmo" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
	grep -v -e "/$OUTDIR/lib/" -e '/libc\.so' -e '/libm\.so' \
		-e '/libpthread\.so' -e '/libdl\.so' -e '/librt\.so' \
		-e '/libresolv\.so' -e '/libutil\.so' -e '/libanl\.so' \
		-e '/libnss_' | grep -q .; then
	echo "device-bundle: a library resolves outside $OUTDIR/lib:" >&2
	ldd "$OUTDIR/vgmo" >&2
	exit 1
fi
"$OUTDIR/vgmo" status --backend sim --json >/dev/null
glibc=$(objdump -T "$OUTDIR/vgmo" "$OUTDIR/bench_nvml" "$OUTDIR"/lib/*.so* \
	2>/dev/null | grep -o 'GLIBC_2\.[0-9]*' | sort -t. -k2,2n -u | tail -n 1)
echo "device-bundle: built $OUTDIR/ ($(du -sh "$OUTDIR" | cut -f1)," \
	"$(find "$OUTDIR/lib" -type f | wc -l) bundled libraries," \
	"needs ${glibc:-glibc} or newer)"
