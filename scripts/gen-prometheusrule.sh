#!/bin/sh
# Generates deploy/k8s/prometheusrule.yaml (a prometheus-operator
# PrometheusRule) from deploy/prometheus/alerts.yml, so that the rules exist
# once: edit alerts.yml, run this script, commit both.
#
#   scripts/gen-prometheusrule.sh           rewrite deploy/k8s/prometheusrule.yaml
#   scripts/gen-prometheusrule.sh --check   exit 1 (with a diff) if it is out of date
#   scripts/gen-prometheusrule.sh --stdout  print the generated file
#
# A PrometheusRule's spec has the same shape as a rules file ({groups: [...]}),
# so the file is copied as is from its `groups:` line on, indented under
# `spec:`. tests/test_ops.py runs --check and also compares the parsed YAML.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/deploy/prometheus/alerts.yml
dst=$root/deploy/k8s/prometheusrule.yaml

generate() {
	cat <<'HEADER'
# GENERATED from deploy/prometheus/alerts.yml by scripts/gen-prometheusrule.sh.
# Do not edit: edit alerts.yml and run the script again.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: vgmo
  labels:
    app.kubernetes.io/name: vgmo
    app.kubernetes.io/component: alerting
spec:
HEADER
	awk 'on || /^groups:/ { on = 1; if (length($0)) print "  " $0; else print "" }' "$src"
}

case "${1:-}" in
"")
	tmp=$(mktemp "$dst.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	generate >"$tmp"
	chmod 0644 "$tmp"
	mv "$tmp" "$dst"
	trap - EXIT
	echo "wrote $dst"
	;;
--stdout)
	generate
	;;
--check)
	if generate | diff -u "$dst" -; then
		exit 0
	fi
	echo "$dst is out of date: run scripts/gen-prometheusrule.sh" >&2
	exit 1
	;;
*)
	echo "usage: $0 [--check | --stdout]" >&2
	exit 2
	;;
esac
