#!/bin/sh
# Installs the Debian packages vgmo needs to build and test, and only those
# that are missing. Safe to run repeatedly; does nothing when all are present.
#
# usage: install-deps.sh [--build]
#   --build  only what building `vgmo` and libvgmo needs (make run)
set -eu

PACKAGES="cmake make gcc pkg-config python3 openssl libjansson-dev libcmocka-dev nodejs \
	libmicrohttpd-dev libcurl4-openssl-dev prometheus wrk \
	yamllint python3-yaml python3-kubernetes \
	clang libclang-rt-14-dev valgrind zsh groff-base gcovr"
if [ "${1:-}" = "--build" ]; then
	PACKAGES="cmake make gcc pkg-config libjansson-dev libmicrohttpd-dev \
		libcurl4-openssl-dev"
fi

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "vgmo: installing missing packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "vgmo: need root (or sudo) to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
