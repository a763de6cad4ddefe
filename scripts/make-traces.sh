#!/bin/sh
# Writes the adversarial traces of bench/traces/ from vgmo's own generators
# (lib/vlm/trace_gen.c): 20 minutes of each workload, seed 1, memory events in
# fractions of the GPU (so each trace runs on every preset). Replay one
# with `vgmo benchmark --trace bench/traces/NAME.jsonl`.
#
#   scripts/make-traces.sh [BUILD_DIR]      (default: build)
set -eu
cd "$(dirname "$0")/.."
vgmo=${1:-build}/vgmo
out=bench/traces
for w in doc-mix huge-tail idle-burst flapping leak long-outputs tiny-huge \
	multi-image vision-heavy; do
	"$vgmo" benchmark --workload "$w" --seeds 1 --duration 1200 \
		--policies oracle --quiet --write-trace "$out/$w.jsonl" >/dev/null
	echo "$out/$w.jsonl: $(wc -l <"$out/$w.jsonl") lines"
done
