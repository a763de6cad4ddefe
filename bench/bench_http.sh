#!/bin/sh
# bench_http.sh - wrk against the daemon's /metrics (docs/performance.md,
# section "HTTP").
#
#   bench/bench_http.sh [VGMO_BINARY]
#
# Without a binary it builds an optimised one in build-bench/. Starts
# `vgmo serve` with the simulated GPU (--sim-gpus 8) on a free loopback port,
# pinned to two cores, registers clients until 50 are listed, warms it up,
# runs wrk, and prints requests/s, the p99 latency and the daemon's resident
# memory (VmRSS, and its peak VmHWM).
#
# Environment: DURATION (default 10s), CONNECTIONS (default 50), THREADS
# (default 2), CLIENTS (default 50: workers registered through
# /v1/clients), CPUS (default 0,1: the daemon's cores), WRK_CPUS (default:
# any; on a machine with more cores, give wrk cores of its own).
set -eu

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
CLIENTS=${CLIENTS:-50}
CPUS=${CPUS:-0,1}
WRK_CPUS=${WRK_CPUS:-}
root=$(cd "$(dirname "$0")/.." && pwd)

for tool in wrk taskset curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench_http: $tool not found (scripts/install-deps.sh installs wrk and curl)" >&2
		exit 1
	fi
done

if [ $# -ge 1 ]; then
	vgmo=$1
else
	cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release \
		-DVGMO_TESTS=OFF >/dev/null
	cmake --build "$root/build-bench" -j"$(nproc)" --target vgmo >/dev/null
	vgmo=$root/build-bench/vgmo
fi

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

taskset -c "$CPUS" "$vgmo" serve --backend sim --sim-gpus 8 \
	--listen 127.0.0.1:0 --health-listen 127.0.0.1:0 \
	--state-dir "$work/state" --log-level warn \
	>"$work/out" 2>"$work/err" &
pid=$!

url=""
i=0
while [ -z "$url" ] && [ $i -lt 100 ]; do
	url=$(sed -n 's|^metrics: *\(http://[^ ]*\)$|\1|p' "$work/out" 2>/dev/null || true)
	[ -n "$url" ] || sleep 0.1
	i=$((i + 1))
done
if [ -z "$url" ]; then
	echo "bench_http: the daemon did not start:" >&2
	cat "$work/err" >&2
	exit 1
fi

# Register clients (POST /v1/clients) until CLIENTS workers are listed,
# spread over the GPUs; the simulated GPUs bring one worker each.
base=${url%/metrics}
have=$(curl -s "$url" | grep -c '^vlm_current_batch_size{' || true)
n=$have
while [ "$n" -lt "$CLIENTS" ]; do
	curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
		-d "{\"name\": \"bench-$n\", \"gpu\": $((n % 8))}" \
		"$base/v1/clients"
	n=$((n + 1))
done

# Warm up, then look at what one answer holds.
wrk -t1 -c1 -d1s "$url" >/dev/null
curl -s "$url" >"$work/metrics"
series=$(grep -vc '^#' "$work/metrics")
bytes=$(wc -c <"$work/metrics")
workers=$(grep -c '^vlm_current_batch_size{' "$work/metrics")

# The daemon's CPU time (user + system, clock ticks) around the run gives
# its cost per request, which other load on the machine does not inflate.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu0=$(cpu_ticks)
if [ -n "$WRK_CPUS" ]; then
	taskset -c "$WRK_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
		--latency "$url" >"$work/wrk"
else
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url" >"$work/wrk"
fi
cpu1=$(cpu_ticks)

rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk")
p50=$(awk '$1 == "50%" {print $2}' "$work/wrk")
errors=$(awk '/Non-2xx|Socket errors/' "$work/wrk")
rss=$(awk '/^VmRSS:/ {print $2, $3}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM:/ {print $2, $3}' "/proc/$pid/status")
threads=$(awk '/^Threads:/ {print $2}' "/proc/$pid/status")
requests=$(awk '/ requests in / {print $1}' "$work/wrk")
hz=$(getconf CLK_TCK)
per_request=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" -v n="$requests" \
	'BEGIN { if (n > 0) printf "%.1f", t / hz / n * 1e6; else print "?" }')
capacity=$(awk -v us="$per_request" \
	'BEGIN { if (us > 0) printf "%.0f", 2e6 / us; else print "?" }')

cat "$work/wrk"
echo
echo "target:       /metrics, 8 simulated GPUs, $workers clients, $series series, $bytes bytes"
echo "load:         wrk -t$THREADS -c$CONNECTIONS -d$DURATION (daemon on CPUs $CPUS, wrk on ${WRK_CPUS:-any}, $(nproc) online)"
echo "requests/s:   $rps"
echo "latency:      p50 $p50, p99 $p99"
echo "daemon CPU:   $per_request us per request (2 dedicated cores: ~$capacity requests/s)"
echo "daemon RSS:   $rss (peak $hwm), $threads threads"
echo "machine:      load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
[ -z "$errors" ] || echo "errors:       $errors"
