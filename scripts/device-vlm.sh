#!/bin/sh
# Real VLM architectures on one NVIDIA GPU: what their batches cost, how far
# `vgmo plan` is from it, and vgmo with a real model in the loop. Writes
# everything under $OUT (default build/vlm-results), ready to commit:
#
#   env.txt             nvidia-smi, Python and package versions
#   vlm-measure.jsonl   scripts/vlm-measure.py: Qwen2-VL-7B, LLaVA-1.5-7B,
#                       SmolVLM (Idefics3), Qwen2-VL-2B, Qwen2.5-VL-7B built
#                       from their configurations with random weights, a
#                       budgeted grid of batches (VLM_MEASURE_SECONDS, 300)
#   plan-check.txt      vgmo plan --check on it: the planner next to every
#   plan-check.json     measured batch, median and worst error per model
#   vlm-loop.json       scripts/vlm-loop.py: vgmo (vgmo serve --backend nvml)
#                       vs Accelerate's find_executable_batch_size vs a fixed
#                       batch on the same generated images (VLM_LOOP_ARM_SECONDS
#                       per arm, 25)
#   device-vlm.log      the progress of every step
#
# Needs python3 with torch (CUDA), transformers, accelerate and pynvml (no
# network: nothing is downloaded), and build-device/vgmo from
# scripts/device-bundle.sh (else a CMake build is tried). Every step is
# time-boxed; the whole run stays under 9 minutes (about 8 expected).
# VLM_STEPS picks steps (default "measure check loop"), e.g. to rerun one;
# VGMO names the vgmo program to use; VLM_MEASURE_ARGS and VLM_LOOP_ARGS
# add arguments to the two scripts (tests/test_vlm_scripts.py runs this
# whole script on stand-ins that way).
set -u
cd "$(dirname "$0")/.." || exit 1

OUT=${OUT:-build/vlm-results}
PYTHON=${PYTHON:-python3}
STEPS=${VLM_STEPS:-measure check loop}
MEASURE_SECONDS=${VLM_MEASURE_SECONDS:-300}
ARM_SECONDS=${VLM_LOOP_ARM_SECONDS:-25}
mkdir -p "$OUT" || exit 1
LOG="$OUT/device-vlm.log"
START=$(date +%s)
FAILED=""

say() {
	printf '[%4ds] device-vlm: %s\n' "$(($(date +%s) - START))" "$*" |
		tee -a "$LOG" >&2
}

has_step() {
	case " $STEPS " in *" $1 "*) return 0 ;; esac
	return 1
}

# vgmo: $VGMO, else the bundle, else a CMake build.
VGMO=${VGMO:-build-device/vgmo}
if [ ! -x "$VGMO" ]; then
	say "no build-device/vgmo (scripts/device-bundle.sh); trying CMake"
	if cmake -S . -B build-device-cmake -DCMAKE_BUILD_TYPE=Release \
		-DVGMO_TESTS=OFF >>"$LOG" 2>&1 &&
		cmake --build build-device-cmake -j "$(nproc)" >>"$LOG" 2>&1; then
		VGMO=build-device-cmake/vgmo
	else
		say "cannot build vgmo here; the check and loop steps are skipped"
		VGMO=""
	fi
fi

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "vgmo: ${VGMO:-none} $(git rev-parse --short HEAD 2>/dev/null)"
	nvidia-smi --query-gpu=name,memory.total,driver_version \
		--format=csv,noheader 2>&1
	"$PYTHON" - <<'EOF' 2>&1
import importlib, platform
print("python", platform.python_version())
for m in ("torch", "transformers", "accelerate", "pynvml"):
    try:
        print(m, importlib.import_module(m).__version__)
    except Exception as e:  # noqa: BLE001
        print(m, "missing:", type(e).__name__, e)
try:
    import torch
    print("cuda", torch.version.cuda, "available", torch.cuda.is_available())
except Exception:  # noqa: BLE001
    pass
EOF
} >"$OUT/env.txt"
say "environment: $(tr '\n' ';' <"$OUT/env.txt")"

if has_step measure; then
	say "measure: budget ${MEASURE_SECONDS}s"
	# shellcheck disable=SC2086 # VLM_MEASURE_ARGS is a list of words
	timeout -k 15 $((MEASURE_SECONDS + 30)) "$PYTHON" scripts/vlm-measure.py \
		--budget-seconds "$MEASURE_SECONDS" ${VLM_MEASURE_ARGS:-} \
		--output "$OUT/vlm-measure.jsonl" 2>>"$LOG"
	rc=$?
	[ "$rc" -eq 0 ] || FAILED="$FAILED measure($rc)"
	say "measure: exit $rc, $(grep -c '"kind":"point"' \
		"$OUT/vlm-measure.jsonl" 2>/dev/null) point lines"
fi

if has_step check && [ -n "$VGMO" ] && [ -s "$OUT/vlm-measure.jsonl" ]; then
	"$VGMO" plan --check "$OUT/vlm-measure.jsonl" >"$OUT/plan-check.txt" \
		2>>"$LOG"
	rc=$?
	"$VGMO" plan --check "$OUT/vlm-measure.jsonl" --json \
		>"$OUT/plan-check.json" 2>>"$LOG"
	[ "$rc" -eq 0 ] || FAILED="$FAILED check($rc)"
	say "check: exit $rc"
	sed -n '/^relative error/,$p' "$OUT/plan-check.txt" >&2
fi

if has_step loop && [ -n "$VGMO" ]; then
	say "loop: ${ARM_SECONDS}s per arm"
	# shellcheck disable=SC2086 # VLM_LOOP_ARGS is a list of words
	timeout -k 15 $((3 * ARM_SECONDS + 90)) "$PYTHON" scripts/vlm-loop.py \
		--vgmo "$VGMO" --arm-seconds "$ARM_SECONDS" ${VLM_LOOP_ARGS:-} \
		--output "$OUT/vlm-loop.json" 2>>"$LOG"
	rc=$?
	[ "$rc" -eq 0 ] || FAILED="$FAILED loop($rc)"
	say "loop: exit $rc"
fi

say "done in $(($(date +%s) - START))s; in $OUT: $(cd "$OUT" && echo ./*)"
if [ -n "$FAILED" ]; then
	say "failed:$FAILED (see $LOG)"
	exit 1
fi
exit 0
