#!/bin/sh
# Regenerates every number and plot of docs/benchmarks.md (`make bench`):
# the tables over seeds 1-10 on an H100 and on an L4 (two models), the
# truth model's parameters, the sweeps across each of them, and the plots.
# Each generated block of docs/benchmarks.md sits between
# "<!-- BEGIN docs/bench/FILE -->" and "<!-- END docs/bench/FILE -->" and
# is replaced by FILE's content. Minutes on two cores.
#
#   scripts/bench-docs.sh [BUILD_DIR]      (default: build)
set -eu
cd "$(dirname "$0")/.."
V=${1:-build}/vgmo
out=docs/bench
mkdir -p "$out" docs/img
step() { echo "bench: $*" >&2; }

step "truth model parameters"
"$V" benchmark --list-truth >"$out/truth.md"

step "h100-80gb, qwen2-vl-7b, every workload, seeds 1-10"
"$V" benchmark --quiet --gpu h100-80gb --seeds 1-10 \
	--output "$out/h100-80gb.json" --markdown "$out/h100-80gb.md" >/dev/null
step "l4-24gb, qwen2-vl-7b at 1 Mpx, every workload, seeds 1-10"
"$V" benchmark --quiet --gpu l4-24gb --max-pixels 1003520 --seeds 1-10 \
	--output "$out/l4-24gb-qwen2-vl-7b.json" \
	--markdown "$out/l4-24gb-qwen2-vl-7b.md" >/dev/null
step "l4-24gb, smolvlm-instruct, every workload, seeds 1-10"
"$V" benchmark --quiet --gpu l4-24gb --model smolvlm-instruct --seeds 1-10 \
	--output "$out/l4-24gb-smolvlm.json" \
	--markdown "$out/l4-24gb-smolvlm.md" >/dev/null

for w in docs cotenant idle-burst long-outputs; do
	step "plot $w (h100-80gb, seed 1)"
	"$V" benchmark --quiet --gpu h100-80gb --workload "$w" --seeds 1 \
		--plot "docs/img/benchmark-$w.svg" >/dev/null
done

sweep_policies=conservative,balanced,aggressive,adaptive,best-fixed,best-tokens
for k in $("$V" benchmark --list-truth | sed -n 's/^| `\([a-z_]*\)`.*/\1/p'); do
	step "sweep $k (h100-80gb, every workload, seeds 1-3)"
	"$V" benchmark --quiet --gpu h100-80gb --seeds 1-3 --sweep "$k" \
		--policies "$sweep_policies" --markdown "$out/sweep-$k.md" \
		--plot "docs/img/sweep-$k.svg" >/dev/null
done

step "splicing into docs/benchmarks.md"
python3 - docs/benchmarks.md <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
def splice(m):
    name = m.group(1)
    body = open(name).read().rstrip("\n")
    return "<!-- BEGIN %s -->\n%s\n<!-- END %s -->" % (name, body, name)
new = re.sub(r"<!-- BEGIN (\S+) -->.*?<!-- END \1 -->", splice, text,
             flags=re.S)
open(path, "w").write(new)
PY
step "done"
