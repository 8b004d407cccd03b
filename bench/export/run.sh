#!/bin/sh
# run.sh - the export benchmark: an RPZ zone and a text list of 10,000
# and 1,000,000 indicators (and the STIX bundle of the same items), time
# and peak RSS, to show that memory does
# not grow with the count (exports stream item page by item page).
#
#   bench/export/run.sh [-n "10000 1000000"] [-b BUILD] [-B "sqlite postgresql"]
#
# For each size: a fresh hub seeded by export_seed (100 domains per item,
# straight into the tables), then `csip export` as the hub and as a
# participant (--as: every item through the policy) under GNU time.
# The STIX bundle (--format stix) of the same hubs is measured too.
# -B names the backends, side by side: postgresql runs on a throwaway
# server of scripts/pg-test (this script starts one unless CSIP_TEST_PG
# names a server already), one database per size; the RSS shown is the
# csip process's, the server's memory is its own.
set -eu
SIZES="10000 1000000" BUILD=build BACKENDS=sqlite
while getopts n:b:B: o; do
	case $o in
	n) SIZES=$OPTARG ;; b) BUILD=$OPTARG ;; B) BACKENDS=$OPTARG ;;
	*) echo "usage: $0 [-n SIZES] [-b BUILD] [-B BACKENDS]" >&2; exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
case " $BACKENDS " in
*" postgresql "*)
	if [ -z "${CSIP_TEST_PG:-}" ]; then
		exec sh "$here/../../scripts/pg-test" sh "$0" "$@"
	fi ;;
esac
[ -x /usr/bin/time ] || { echo "run.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
CSIP=$BUILD/csip SEED=$BUILD/bench/export_seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf "%-10s %-10s %-6s %-8s %9s %12s %10s\n" backend indicators format reader "seconds" "output MB" "peak RSS MB"
for be in $BACKENDS; do
for n in $SIZES; do
	d="$work/hub-$be-$n"; mkdir -p "$d"
	db=""
	if [ "$be" = postgresql ]; then
		name="csip_export_$n"
		PGOPTIONS=--client-min-messages=warning psql -X -q -d "$CSIP_TEST_PG" \
			-c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
		db=$(printf "[database]\nurl = %s\n" "$(echo "$CSIP_TEST_PG" | sed "s|/postgres?|/$name?|")")
	fi
	printf "[data]\ndir = %s\n%s\n\n[export]\nvalidity_days = 0\n" "$d/data" "$db" > "$d/csip.conf"
	"$SEED" "$d/csip.conf" "$n" >/dev/null
	for fmt in rpz text stix; do
		for who in hub bench-reader; do
			as=""; [ "$who" = hub ] || as="--as $who"
			# shellcheck disable=SC2086
			t=$(/usr/bin/time -f "%e %M" "$CSIP" --config "$d/csip.conf" \
				export --format "$fmt" $as --output "$d/out" 2>&1 | tail -1)
			bytes=$(stat -c %s "$d/out")
			echo "$be $n $fmt $who $t $bytes" | awk '{printf "%-10s %-10s %-6s %-8s %9.2f %12.1f %10.1f\n", $1, $2, $3, substr($4,1,8), $5, $7/1e6, $6/1024}'
		done
	done
	rm -rf "$d"
done
done
