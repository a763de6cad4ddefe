#!/bin/sh
# Hand-made mutation testing of the engine's decisions: each mutation below
# is one small change to the source that a test should notice (a margin
# gone, a condition inverted, a constant off). The script copies the
# tree (tracked and new files, not ignored ones) into a scratch folder,
# builds it there once (Release), checks that the tests pass, then for each
# mutation: applies it there with sed, rebuilds what changed, runs the
# tests named with it, and puts the file back. A mutation is killed when a
# test fails (or the build breaks), survived when every test passes.
# Prints a table and exits 1 when any survived. The working tree is never
# touched.
#
# Usage: scripts/mutants.sh [ID...]   (default: all; IDs as in the table)
# Environment: KEEP=1 keeps the scratch folder; JOBS (default nproc).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vgmo-mutants.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then
	trap 'rm -rf "$WORK"' EXIT INT TERM
fi
SRC=$WORK/src
BUILD=$WORK/build
mkdir -p "$SRC"

# The engine's unit tests: each a few tenths of a second.
UNIT="test_engine test_engine_cleanup test_cost test_cost_phases test_shares test_leases test_tokens test_sim test_benchmark test_benchmark_truth test_planner"

# One line per mutation, fields separated by tabs: ID, FILE, a sed
# expression that changes FILE (the script stops when it no longer does:
# the source moved), and the tests to run (UNIT, UNIT+more, or a list).
mutants() {
	cat <<'EOF'
z-zero	lib/engine/strategy.c	s/return vgmo__normal_upper(vgmo__strategy(s)->p_oom);/return 0;/	UNIT
z-unwidened	lib/engine/cost.c	s/double widen = 1.0 + 1.0 \/ fmax(1.0, c->lr_w);/double widen = 1.0;/	UNIT
cleanup-critical	lib/engine/optimize.c	/case VGMO_STATUS_CRITICAL:/,/break;/s/clean = true;/clean = false;/	UNIT
cleanup-gc-threshold	lib/engine/engine.c	s/if (u > c.gc_threshold ||/if (u < c.gc_threshold ||/	UNIT
cleanup-worthwhile	lib/engine/engine.c	s/clean_due = clean_due \&\& vgmo__cleanup_worthwhile(e);/clean_due = clean_due;/	UNIT
tokens-climb	lib/engine/tokens.c	s/^#define CLIMB 2$/#define CLIMB 4/	UNIT
tokens-first-batch	lib/engine/tokens.c	s/w->ran_max \* CLIMB : 1;/w->ran_max * CLIMB : 2;/	UNIT
small-weigh-less	lib/engine/cost.c	s/^#define SMALL_SHARE 0.25 /#define SMALL_SHARE 1e-9 /	UNIT
doubt-point	lib/engine/tokens.c	s/(doubt \&\& w->doubts >= DOUBT_TRIES)/(doubt)/	UNIT
doubt-tries	lib/engine/tokens.c	s/^#define DOUBT_TRIES 3$/#define DOUBT_TRIES 6/	UNIT
doubt-reset	lib/engine/worker_learn.c	s/w->doubts = 0;/(void)w->doubts;/	UNIT
rise-ignored	lib/engine/workers.c	s/? to_oom - (to_oom - keep) \* rise \/ reserve/? to_oom/	UNIT
rise-held	lib/engine/workers.c	s/if ((double)w->last_reserved > \*room)/if (0)/	UNIT
rise-open-bucket	lib/engine/others.c	s/now - o->start\[i\] >= BUCKET)/now >= o->start[i])/	UNIT
rise-no-span	lib/engine/others.c	s/o->start\[idx\[b\]\] - o->start\[idx\[a\]\] > span)/0)/	UNIT
fit-never-point	lib/engine/tokens.c	s/out->verdict = point <= empty ? VGMO_FIT_NOT_NOW/out->verdict = need <= empty ? VGMO_FIT_NOT_NOW/	UNIT
oom-halving	lib/engine/worker_learn.c	s/w->ran_max = (int)(r->items \/ 2);/w->ran_max = (int)r->items;/	UNIT
items-climb-step	lib/engine/worker_learn.c	s/t = w->ran_max + (w->ran_max + 1) \/ 2;/t = w->ran_max * 2;/	UNIT
shares-no-reserve	lib/engine/shares.c	s/ac = fmax(0.0, total - reserve - unattributed);/ac = fmax(0.0, total - unattributed);/	UNIT
shares-oom-room	lib/engine/shares.c	s/oom\[i\] = ac > 0 ? crit\[i\] \* ao \/ ac : 0;/oom[i] = crit[i];/	UNIT
shares-fill-weight	lib/engine/shares.c	s/out\[i\] = wsum > 0 ? left \* ws\[i\]->weight \/ wsum : 0;/out[i] = wsum > 0 ? left \/ (double)(k - j) : 0;/	UNIT
shares-fill-satisfied	lib/engine/shares.c	s/if (!(need\[i\] < left \* ws\[i\]->weight \/ wsum))/if (!(need[i] < left))/	UNIT
shares-idle-share	lib/engine/shares.c	s/if (!active(w) \&\& busy > 0)$/if (0)/	UNIT
shares-unattributed	lib/engine/shares.c	s/(uint64_t)fmax(0.0, used - fmin(held, used));/(uint64_t)fmax(0.0, used);/	UNIT
margin-no-floor	lib/engine/cost.c	s/return exp(fmax(mean(c) + z \* widen \* sigma(c), c->lr_max));/return exp(mean(c) + z * widen * sigma(c));/	UNIT
items-ceiling	lib/engine/worker_learn.c	s/if (w->ceiling > 0 \&\& t >= w->ceiling)/if (0)/	UNIT
tokens-doomed	lib/engine/tokens.c	s/bool over = room <= o->peak;/bool over = false;/	UNIT
cleanup-interval	lib/engine/engine.c	s/if (c.enabled \&\& now - e->last_cleanup >= c.cleanup_interval) {/if (c.enabled) {/	UNIT
units-margin	lib/engine/tokens.c	s/if (vgmo__need(in, x) <= room)/if (vgmo__need_point(in, x) <= room)/	UNIT
items-margin	lib/engine/worker_learn.c	s/if (vgmo__need(in, x) <= room)/if (vgmo__need_point(in, x) <= room)/	UNIT
shares-oom-line	lib/engine/shares.c	s/ao = fmax(0.0, total - unattributed);/ao = total;/	UNIT
shares-held-pid	lib/engine/shares.c	s/if (s->processes\[i\].pid == w->pid \&\&/if (s->processes[i].pid != w->pid \&\&/	UNIT
cleanup-over-room	lib/engine/optimize.c	s/(double)w->last_reserved > w->budget_oom)/(double)w->last_reserved < w->budget_oom)/	UNIT
oom-asks-cleanup	lib/engine/worker_learn.c	s/^\t\tw->cleanup_wanted = true;$/\t\tw->cleanup_wanted = false;/	UNIT
oom-vouched	lib/engine/worker_learn.c	s/bool vouched = w->tokens \&\& vgmo__tokens_vouched(w, x, room);/bool vouched = false;/	UNIT
tokens-dominated	lib/engine/tokens.c	s/if (under \&\& r->peak \* (1 + VOUCH_SLACK) <= room)/if (under)/	UNIT
plan-reserve	lib/vlm/planner.c	s/if (sp->reserve == VGMO__RESERVE_ALWAYS)/if (sp->reserve != VGMO__RESERVE_NEVER)/	UNIT+test_plan_cli
plan-context	lib/vlm/planner.c	s/double room = (double)total - (double)out->context_bytes;/double room = (double)total;/	UNIT+test_plan_cli
bench-config-max	src/cmd/cmd_benchmark_args.c	s/a->o.cfg.max_batch_size = 256;/a->o.cfg.max_batch_size = 16;/	test_plan_cli
phases-no-scale-search	lib/engine/cost.c	s/^#define SCALE_SWEEPS 2 /#define SCALE_SWEEPS 0 /	UNIT
phases-first-not-largest	lib/engine/cost.c	s/if (pv > bv) {/if (pv < bv) {/	UNIT
phases-square-not-shared	lib/engine/cost.c	s/if (c->phases != VGMO__PHASES)$/if (c->phases == VGMO__PHASES)/	UNIT
tokens-margin-no-floor	lib/engine/cost.c	s/return exp(fmax(z \* widen \* sigma_up(c), c->lr_max));/return exp(z * widen * sigma_up(c));/	UNIT
tokens-climb-cost	lib/engine/tokens.c	s/^#define CLIMB_COST 2.5$/#define CLIMB_COST 1e9/	UNIT
tokens-vouch-slack	lib/engine/tokens.c	s/^#define VOUCH_SLACK 0.01$/#define VOUCH_SLACK 0/	UNIT
EOF
}

say() { printf '%s\n' "$*" >&2; }

# Build the targets the tests need: the library, the program, the tests.
build() {
	targets="vgmo"
	for t in $1; do
		[ -f "$SRC/tests/$t.c" ] && targets="$targets $t"
	done
	# shellcheck disable=SC2086
	cmake --build "$BUILD" -j "$JOBS" --target $targets >"$WORK/build.log" 2>&1
}

run_tests() {
	# shellcheck disable=SC2086 # a list of names, split on purpose
	regex=$(printf '%s\n' $1 | sed 's/.*/^&$/' | paste -sd '|' -)
	ctest --test-dir "$BUILD" -j "$JOBS" -R "$regex" >"$WORK/test.log" 2>&1
}

expand() {
	case $1 in
	UNIT) printf '%s' "$UNIT" ;;
	UNIT+*) printf '%s %s' "$UNIT" "${1#UNIT+}" ;;
	*) printf '%s' "$1" ;;
	esac
}

say "mutants: copying the tree"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | (cd "$SRC" && tar xf -)
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null

all_tests=""
tab=$(printf '\t')
ids=$(mutants | cut -f1)
if [ $# -gt 0 ]; then
	# shellcheck disable=SC2086
	for want in "$@"; do
		printf '%s\n' "$ids" | grep -qx -- "$want" ||
			{ say "mutants: unknown mutation '$want' (known: $(printf '%s ' $ids))"; exit 2; }
	done
	ids=$*
fi
for id in $ids; do
	all_tests="$all_tests $(expand "$(mutants | awk -F"$tab" -v id="$id" '$1 == id {print $4}')")"
done
say "mutants: building and checking the unmutated tree"
build "$all_tests" || { say "mutants: the tree does not build"; cat "$WORK/build.log" >&2; exit 1; }
# shellcheck disable=SC2086
run_tests "$(printf '%s\n' $all_tests | sort -u)" ||
	{ say "mutants: the tests fail without any mutation"; cat "$WORK/test.log" >&2; exit 1; }

killed=0
survived=0
printf '%-22s %-20s %-9s %s\n' mutation file result "killed by"
for id in $ids; do
	line=$(mutants | awk -F"$tab" -v id="$id" '$1 == id')
	file=$(printf '%s' "$line" | cut -f2)
	expr=$(printf '%s' "$line" | cut -f3)
	tests=$(expand "$(printf '%s' "$line" | cut -f4)")
	cp "$SRC/$file" "$WORK/orig"
	sed "$expr" "$WORK/orig" >"$SRC/$file"
	if cmp -s "$WORK/orig" "$SRC/$file"; then
		cp "$WORK/orig" "$SRC/$file"
		say "mutants: $id no longer applies to $file (the source moved): fix its sed expression"
		exit 1
	fi
	by=""
	if ! build "$tests"; then
		result=killed
		by="(build)"
	elif run_tests "$tests"; then
		result=SURVIVED
	else
		result=killed
		by=$(sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Failed.*$/\1/p;s/^.*Test *#[0-9]*: \([^ ]*\) .*Exception.*$/\1/p' \
			"$WORK/test.log" | paste -sd ',' -)
	fi
	cp "$WORK/orig" "$SRC/$file"
	if [ "$result" = killed ]; then
		killed=$((killed + 1))
	else
		survived=$((survived + 1))
	fi
	printf '%-22s %-20s %-9s %s\n' "$id" "$file" "$result" "$by"
done
echo "mutants: $killed killed, $survived survived"
[ "$survived" -eq 0 ]
