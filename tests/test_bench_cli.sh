#!/bin/sh
# test_bench_cli.sh - `vgmo benchmark` as a user runs it: tables over seeds,
# JSON, Markdown, plots, sweeps, a committed adversarial trace replayed,
# and its usage errors. Also checks that the benchmark's truth model
# (lib/vlm/vlm_truth.c) calls nothing of the planner that gives vgmo its prior.
#
# usage: sh tests/test_bench_cli.sh path/to/vgmo path/to/source
set -u

VGMO=${1:?usage: test_bench_cli.sh path/to/vgmo path/to/source}
SRC=${2:?usage: test_bench_cli.sh path/to/vgmo path/to/source}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vgmo-test-bench.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run EXPECTED_RC ARGS...
run() {
	want=$1
	shift
	"$VGMO" benchmark --quiet "$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "vgmo benchmark $* exited $got, want $want"
		sed 's/^/  | /' "$TMP/out" "$TMP/err" >&2
	fi
}

has() { # has FILE TEXT
	grep -qF -- "$2" "$1" || fail "$1 lacks: $2"
}

# The truth shares no formula with the planner: none of its functions or
# constants, not even its header.
if grep -nE 'vgmo__(estimate_|act_|logits_bytes|plan_)|vgmo_plan_|VGMO__(WORKSPACE|CONTEXT)_BYTES|"vlm_models\.h"|"planner' \
	"$SRC/lib/vlm/vlm_truth.c" "$SRC/lib/tool-internal/vlm_truth.h"; then
	fail "lib/vlm/vlm_truth.c or its header uses the planner"
fi

# Two seeds, three policies (and the oracle): the table, JSON, Markdown.
run 0 --workload photos --seeds 1-2 --duration 400 \
	--policies balanced,accelerate,best-fixed --output "$TMP/r.json" \
	--markdown "$TMP/r.md" --plot "$TMP/p.svg"
has "$TMP/out" "workload photos: qwen2-vl-7b on h100-80gb, seeds 1-2"
has "$TMP/out" "ratio med(min)"
has "$TMP/out" "best-fixed"
has "$TMP/out" "targets:"
has "$TMP/r.md" "| balanced | "
has "$TMP/p.svg" "<svg"
python3 - "$TMP/r.json" <<'PY' || fail "JSON rows"
import json, sys
d = json.load(open(sys.argv[1]))
w = d["workloads"][0]
assert w["workload"] == "photos" and len(w["runs"]) == 2
for run in w["runs"]:
    names = [p["policy"] for p in run["policies"]]
    assert names == ["balanced", "accelerate", "best-fixed", "oracle"], names
    for p in run["policies"]:
        for k in ("policy", "ratio_to_oracle", "ooms", "items_per_s",
                  "refused", "latency_p50_s", "latency_p95_s"):
            assert k in p, k
    assert run["policies"][3]["ratio_to_oracle"] == 1.0
assert [s["policy"] for s in w["summary"]][0] == "balanced"
PY

# A committed adversarial trace, replayed: the baselines are spared the
# requests that never fit; its truth line is applied.
run 0 --trace "$SRC/bench/traces/huge-tail.jsonl" --seeds 1 \
	--policies accelerate --output "$TMP/t.json"
python3 - "$TMP/t.json" <<'PY' || fail "trace replay"
import json, sys
w = json.load(open(sys.argv[1]))["workloads"][0]
acc = w["runs"][0]["policies"][0]
assert acc["policy"] == "accelerate" and acc["refused"] > 0, acc
PY
run 0 --trace "$SRC/bench/traces/vision-heavy.jsonl" --seeds 1 \
	--policies oracle --duration 200 --output "$TMP/v.json"
python3 -c "import json,sys; w=json.load(open(sys.argv[1]))['workloads'][0]; assert w['truth']['vision_scale'] == 3.5" "$TMP/v.json" || fail "trace truth"

# --truth overrides; --sweep walks a range.
run 0 --workload docs --seeds 1 --duration 300 --policies balanced \
	--truth padding=0 --truth act_scale=1.5 --output "$TMP/x.json"
python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['workloads'][0]['truth']; assert t['padding']==0 and t['act_scale']==1.5" "$TMP/x.json" || fail "--truth"
run 0 --workload photos --seeds 1 --duration 300 --policies balanced \
	--sweep attention --plot "$TMP/s.svg"
has "$TMP/out" "sweep of attention"
has "$TMP/out" "attention = 2"
has "$TMP/s.svg" "<svg"
# A smaller GPU and a capped pixel count.
run 0 --workload photos --seeds 1 --duration 300 --policies oracle \
	--gpu l4-24gb --max-pixels 1003520
has "$TMP/out" "on l4-24gb"

# Usage errors: exit 2 and a reason naming the option.
run 2 --truth act_scale=9
has "$TMP/err" "act_scale must be a number in [0.8, 2]"
run 2 --truth nope=1
has "$TMP/err" "unknown parameter \"nope\""
run 2 --sweep nope
has "$TMP/err" "--sweep: unknown truth parameter 'nope'"
run 2 --seeds 5-2
has "$TMP/err" "invalid --seeds '5-2'"
run 2 --gpu b200
has "$TMP/err" "h200-141gb"
run 2 --duration 0
run 1 --model smolvlm-instruct --max-pixels 1003520
has "$TMP/err" "does not size images by pixels"
run 1 --policies tokens --workload docs
has "$TMP/err" "needs --token-budget"
run 0 --help
has "$TMP/out" "alloc_rounding"
has "$TMP/out" "huge-tail"

if [ "$failures" -ne 0 ]; then
	echo "test_bench_cli: $failures failure(s)" >&2
	exit 1
fi
echo "test_bench_cli: all passed"
