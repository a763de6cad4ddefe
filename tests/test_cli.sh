#!/bin/sh
# test_cli.sh - drives the real `vgmo` binary: help, usage errors (exit 2),
# failures (exit 1), JSON output, and the configuration precedence
# defaults < --config file < VGMO_* environment < command-line flags.
#
# usage: sh tests/test_cli.sh path/to/vgmo
set -u

VGMO=${1:?usage: test_cli.sh path/to/vgmo}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vgmo-test-cli.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

# A hermetic environment: no configuration from the caller, no colour.
for v in $(env | sed -n 's/^\(VGMO_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
export NO_COLOR=1

failures=0
checks=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run EXPECTED_RC ARGS...: runs vgmo, keeps stdout/stderr in $TMP/out, err.
# RUN_ENV holds NAME=value words added to its environment.
RUN_ENV=""
run() {
	want=$1
	shift
	checks=$((checks + 1))
	# shellcheck disable=SC2086 # RUN_ENV is a list of words
	env $RUN_ENV "$VGMO" "$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "vgmo $* exited $got, want $want"
		sed 's/^/  stderr: /' "$TMP/err" >&2
		return 1
	fi
	return 0
}

# expect FILE PATTERN WHAT: FILE (out or err) matches the grep -E PATTERN.
expect() {
	if ! grep -Eq -- "$2" "$TMP/$1"; then
		fail "$3: $1 does not match /$2/"
		sed "s/^/  $1: /" "$TMP/$1" >&2
	fi
}

# expect_lines FILE N WHAT: FILE has exactly N lines.
expect_lines() {
	n=$(wc -l <"$TMP/$1")
	[ "$n" -eq "$2" ] || fail "$3: $1 has $n lines, want $2"
}

have_python=false
command -v python3 >/dev/null 2>&1 && have_python=true

# json_field KEY: the top-level KEY of the JSON in $TMP/out.
json_field() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' \
		"$1" <"$TMP/out"
}

# ---------------------------------------------------------------- help
run 0 --help && expect out '^  status ' "--help lists status"
run 0 -h && expect out 'usage: vgmo' "-h"
run 0 --version && expect out '^vgmo [0-9]+\.[0-9]+\.[0-9]+$' "--version"
run 0 status --help && expect out 'usage: vgmo status' "status --help"
expect out '--sim-warmup' "status --help lists its options"
expect out '--warning-threshold' "status --help lists the config flags"
expect out 'h100-80gb' "status --help lists the presets"
run 0 help status && expect out 'usage: vgmo status' "help status"

# ------------------------------------------------------ usage errors: 2
run 2 && expect err 'missing command' "no command"
run 2 frobnicate && expect err "unknown command 'frobnicate'" "bad command"
expect err "try 'vgmo --help'" "bad command hint"
expect_lines err 2 "bad command message"
run 2 --frobnicate && expect err "unknown option" "bad global option"
# Did you mean: commands, options, configuration keys, VGMO_* variables.
run 2 stauts && expect err "unknown command 'stauts' \(did you mean 'status'\?\)" \
	"command suggestion"
expect_lines err 2 "command suggestion message"
run 2 status --max-batch-sise 3 &&
	expect err "did you mean '--max-batch-size'\?" "option suggestion"
run 2 serve --listn 127.0.0.1:0 && expect err "did you mean '--listen'" \
	"serve option suggestion"
run 2 status --zzzzzzzz && ! grep -q "did you mean" "$TMP/err" ||
	fail "a far-off option got a suggestion"
printf '{"max_batch_sise": 3}\n' >"$TMP/typo.json"
run 1 status --backend sim --config "$TMP/typo.json" &&
	expect err 'unknown key "max_batch_sise" \(did you mean "max_batch_size"\?\)' \
		"config key suggestion"
RUN_ENV="VGMO_MAX_BATCH_SIZ=3"
run 0 status --backend sim --sim-warmup 0 &&
	expect err "VGMO_MAX_BATCH_SIZ .*did you mean VGMO_MAX_BATCH_SIZE\?" \
		"environment variable suggestion"
expect_lines err 1 "one warning line"
RUN_ENV="VGMO_SERVER=http://127.0.0.1:1 VGMO_TEST_ANYTHING=1"
run 0 status --backend sim --sim-warmup 0 && expect_lines err 0 \
	"known VGMO_* variables: no warning"
RUN_ENV=""
run 2 status --frobnicate && expect err "unknown option '--frobnicate'" \
	"bad status option"
expect err "try 'vgmo status --help'" "bad status option hint"
expect_lines err 2 "bad status option message"
run 2 status -x && expect err "unknown option '-x'" "bad short option"
run 2 status extra && expect err "unexpected argument 'extra'" "extra arg"
run 2 status --sim-gpus && expect err "needs a value" "missing value"
run 2 status --sim-gpus=abc && expect err "invalid --sim-gpus 'abc'" \
	"bad number"
run 2 status --sim-gpus 2x && expect err "invalid --sim-gpus" "trailing junk"
run 2 status --sim-gpus 0 && expect err "1\.\.64" "gpus out of range"
run 2 status --sim-gpus 65 && expect err "1\.\.64" "gpus out of range"
run 2 status --sim-seed -1 && expect err "invalid --sim-seed" "negative seed"
run 2 status --warning-threshold 0.8x && \
	expect err "invalid --warning-threshold '0.8x'" "bad fraction"
run 2 status --warning-threshold ' 0.8' && \
	expect err "invalid --warning-threshold" "leading blank"
run 2 status --max-batch-size 1.5 && \
	expect err "invalid --max-batch-size" "fractional integer"
run 2 status --max-batch-size 100000000000 && \
	expect err "out of range \(at most 2147483647\)" "integer too large"
run 2 status --enabled maybe && expect err "expected true or false" \
	"bad boolean flag"
run 2 serve --listen localhost && \
	expect err "invalid --listen 'localhost'" "listen without a port"
expect_lines err 2 "listen message"
run 1 serve --backend sim --tls-cert "$TMP/no-cert.pem" --tls-key "$TMP/no-key.pem" &&
	expect err "cannot read --tls-cert .*no-cert\.pem" \
		"an unreadable certificate, before any backend"
run 2 serve --health-listen 127.0.0.1:99999 && \
	expect err "invalid --health-listen" "health port out of range"
run 2 status --strategy reckless && expect err "invalid --strategy" \
	"bad strategy"
run 2 status --backend cuda && expect err "unknown --backend 'cuda'" \
	"bad backend"
run 2 status --sim-preset z80 && expect err "h100-80gb" "bad preset"
run 2 status --json=yes && expect err "takes no value" "flag with value"
run 2 status --sim-warmup -1 && expect err "invalid --sim-warmup" \
	"negative warm-up"

# ------------------------------------------------------------ status
run 0 status --backend sim && expect out '^backend: +sim \(simulated GPU\)' \
	"table names the simulated backend"
expect out '^status: +(healthy|warning|critical|oom)$' "table status"
expect out '^ *GPU +NAME +STATUS' "table GPU header"
expect out '^ *0 ' "table GPU row"
expect out '^WORKER' "table worker header"
if grep -q "$(printf '\033')" "$TMP/out"; then
	fail "colour escapes in output that is not a terminal"
fi

run 0 status --backend sim --json
if $have_python; then
	python3 -m json.tool <"$TMP/out" >/dev/null ||
		fail "status --json is not valid JSON"
	[ "$(json_field backend)" = sim ] || fail "JSON backend is not sim"
	python3 - "$TMP/out" <<-'EOF' || fail "JSON fields"
	import json, sys
	s = json.load(open(sys.argv[1]))
	assert 0.0 <= s["memory_usage_percent"] <= 1.0, s["memory_usage_percent"]
	assert s["gpu_available"] is True
	assert len(s["gpus"]) == 1
	assert s["status"] in ("healthy", "warning", "critical", "oom")
	assert isinstance(s["current_batch_size"], int)
	EOF
else
	echo "note: python3 not found, JSON validity not checked" >&2
	expect out '"backend": "sim"' "JSON backend"
fi

# The simulated allocator fragments as a real one does: a few percent, under
# the default fragmentation_threshold (0.30) that VLMMemoryFragmentationHigh
# alerts on, however long the workload runs.
if $have_python; then
	for seed in 1 2 3; do
		for warm in 60 3600 86400; do
			run 0 status --backend sim --sim-seed $seed \
				--sim-warmup $warm --json || continue
			python3 - "$TMP/out" <<-'EOF' ||
			import json, sys
			s = json.load(open(sys.argv[1]))
			f = s["gpus"][0]["memory_fragmentation"]
			assert f is not None and 0 <= f < 0.3, f
			EOF
				fail "seed $seed, $warm s: fragmentation >= 30 %"
		done
	done
fi

run 0 status --backend sim --sim-gpus=3 --sim-preset l4-24gb \
	--sim-workload none --sim-seed 9 --json
if $have_python; then
	python3 - "$TMP/out" <<-'EOF' || fail "three idle L4 GPUs"
	import json, sys
	s = json.load(open(sys.argv[1]))
	assert len(s["gpus"]) == 3, s["gpus"]
	assert 20000 < s["gpus"][0]["total_memory_mb"] < 24577
	EOF
fi

# CSV with named columns; unknown values are empty cells.
run 0 status --backend sim --sim-gpus 2 --format csv &&
	expect out '^gpu,name,uuid,pci_bus_id,status,used_mib,total_mib,free_mib,memory_used_pct,utilization_pct,temperature_c,power_w,fragmentation_pct,batch_size,optimal_batch_size,sampled_at$' \
		"CSV header: every column, stable names"
expect_lines out 3 "CSV: a header and one line per GPU"
run 0 status --backend sim --sim-workload none --fields gpu,status,used_mib,fragmentation_pct &&
	expect out '^gpu,status,used_mib,fragmentation_pct$' "--fields header"
expect out '^0,(healthy|warning|critical|oom),[0-9]+,$' \
	"--fields row; fragmentation of an idle GPU is unknown, not 0"
run 2 status --backend sim --fields gpu,nmae &&
	expect err "unknown --fields column 'nmae' \(did you mean 'name'" \
		"bad column"
run 2 status --backend sim --json --fields gpu &&
	expect err "--fields goes with --format csv" "--fields with json"
run 2 status --format xml && expect err "invalid --format 'xml'" "bad format"
run 0 status --fields help && expect out '^fragmentation_pct ' "--fields help"
run 0 history --fields help && expect out '^worker ' "history --fields help"

run 0 status --backend sim --sim-warmup 0 --strategy aggressive --json &&
	expect out '"strategy": "aggressive"' "--strategy"

# ------------------------------------------------------------ config
printf '{\n  "memory_threshold_warning": 0.7,\n  "bogus" 1\n}\n' >"$TMP/bad.json"
run 1 status --backend sim --config "$TMP/bad.json" &&
	expect err "bad\.json" "malformed file: names the file"
expect err "line 3|:3[:, ]" "malformed file: names the line"
expect_lines err 1 "malformed file message"

run 1 status --backend sim --config "$TMP/missing.json" &&
	expect err "missing\.json" "missing file"

cat >"$TMP/low.json" <<EOF
{"strategy": "conservative", "memory_threshold_warning": 0.5,
 "memory_threshold_critical": 0.6, "memory_threshold_oom": 0.7}
EOF
run 0 status --backend sim --sim-warmup 0 --config "$TMP/low.json" &&
	expect out 'warning 0\.50, critical 0\.60, oom 0\.70' "file applies"
expect out '^strategy: +conservative$' "file strategy"

# environment beats the file...
RUN_ENV="VGMO_MEMORY_THRESHOLD_WARNING=0.55 VGMO_STRATEGY=adaptive"
run 0 status --backend sim --sim-warmup 0 --config "$TMP/low.json" &&
	expect out 'warning 0\.55, critical 0\.60' "env overrides the file"
expect out '^strategy: +adaptive$' "env strategy overrides the file"

# ...and a flag beats the environment.
run 0 status --backend sim --sim-warmup 0 --config "$TMP/low.json" \
	--warning-threshold 0.45 --strategy balanced &&
	expect out 'warning 0\.45, critical 0\.60' "flag overrides env"
expect out '^strategy: +balanced$' "flag strategy overrides env"
run 1 status --backend sim --config "$TMP/low.json" \
	--warning-threshold 0.65 &&
	expect err "memory_threshold_(warning|critical)" \
		"flag past critical names the field"

RUN_ENV="VGMO_MEMORY_THRESHOLD_WARNING=0.65"
run 1 status --backend sim --config "$TMP/low.json" &&
	expect err "memory_threshold_(warning|critical)" \
		"env past the file's critical names the field"

RUN_ENV="VGMO_MEMORY_THRESHOLD_WARNING=abc"
run 1 status --backend sim &&
	expect err "VGMO_MEMORY_THRESHOLD_WARNING" "malformed env names it"
RUN_ENV=""

run 1 status --backend sim --warning-threshold 0.95 \
	--critical-threshold 0.9 &&
	expect err "memory_threshold_(warning|critical)" \
		"warning >= critical names the field"
expect_lines err 1 "invalid combination message"
run 1 serve --backend sim --state-dir "$TMP/state" --listen 127.0.0.1:0 \
	--health-listen 127.0.0.1:0 --warning-threshold 0.95 &&
	expect err "memory_threshold_(warning|critical)" "serve names the field"
expect_lines err 1 "serve: one line for an invalid configuration"

# Every configuration field has a flag.
run 0 status --backend sim --sim-warmup 0 --json --temperature-threshold 70 \
	--cleanup-interval 100 --memory-reserve-mb 512 --gc-threshold 0.7 \
	--fragmentation-threshold 0.4 --enabled false &&
	expect out '"optimization_enabled": false' "--enabled false"
run 1 status --backend sim --min-batch-size 8 --max-batch-size 4 &&
	expect err "(min|max)_batch_size" "min > max names the field"

# ------------------------------------------------------------ output
if [ -w /dev/full ]; then
	checks=$((checks + 1))
	"$VGMO" --help >/dev/full 2>"$TMP/err"
	[ $? -eq 1 ] || fail "a failed write is not exit 1"
fi

echo "$checks runs, $failures failures"
[ "$failures" -eq 0 ]
