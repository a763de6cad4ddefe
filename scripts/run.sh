#!/bin/bash
# make run: installs what building vgmo needs, builds only the `vgmo`
# program, quietly (one line per step; everything else goes to a log that
# a failure names), then runs `vgmo serve` in the foreground and, once it
# listens, prints the next commands to try. Ctrl-C stops it.
#
# usage: scripts/run.sh BUILD_DIR JOBS [cmake options...]
set -u

build=${1:?usage: run.sh BUILD_DIR JOBS [cmake options...]}
jobs=${2:-2}
shift 2
log="$build/make-run.log"

mkdir -p "$build" || exit 1
: >"$log" || exit 1

# step N WHAT COMMAND...: one line, the command's output to the log.
step() {
	local n=$1 what=$2
	shift 2
	printf '[%s/3] %s ... ' "$n" "$what"
	echo "==> $*" >>"$log"
	if "$@" >>"$log" 2>&1; then
		echo ok
		return 0
	fi
	echo failed
	echo "make run: $what failed; the full log is $log (last lines:)" >&2
	tail -n 8 "$log" | sed 's/^/  /' >&2
	exit 1
}

step 1 "build dependencies" scripts/install-deps.sh --build
step 2 "configure (cmake)" cmake -S . -B "$build" "$@"
step 3 "build vgmo" cmake --build "$build" --target vgmo -j "$jobs"

next_steps() {
	local opt=""
	[ "$1" = "http://127.0.0.1:8080" ] || opt=" --server $1"
	cat <<-EOM

	vgmo serve runs in this terminal (Ctrl-C stops it). In another one, try:
	  $build/vgmo status$opt     # memory, batch sizes, workers
	  $build/vgmo monitor$opt    # the same, live
	  python3 examples/make_images.py --out /tmp/pages --count 40 && PYTHONPATH=python python3 examples/vlm_worker.py$opt --folder /tmp/pages -v
	Or open $1/ in a browser. The build log is $log; README.md has the whole tour.

	EOM
}

# serve's stdout passes through; after its last address line, the next
# steps. Its own exit status is the script's.
"$build/vgmo" serve --state-dir "$build/state" | {
	api=""
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		api:*) api=$(printf '%s' "$line" | sed -n 's#^api: *\(https\{0,1\}://[^/]*\).*#\1#p') ;;
		ready:*) next_steps "${api:-http://127.0.0.1:8080}" ;;
		esac
	done
}
exit "${PIPESTATUS[0]}"
