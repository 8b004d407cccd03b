#!/bin/sh
# run.sh - the export benchmark: an RPZ zone and a text list of 10,000
# and 1,000,000 indicators (and the STIX bundle of the same items), time
# and peak RSS, to show that memory does
# not grow with the count (exports stream item page by item page).
#
#   bench/export/run.sh [-n "10000 1000000"] [-b BUILD]
#
# For each size: a fresh hub seeded by export_seed (100 domains per item,
# straight into the tables), then `csip export` as the hub and as a
# participant (--as: every item through the policy) under GNU time.
# The STIX bundle (--format stix) of the same hubs is measured too.
set -eu
SIZES="10000 1000000" BUILD=build
while getopts n:b: o; do
	case $o in
	n) SIZES=$OPTARG ;; b) BUILD=$OPTARG ;;
	*) echo "usage: $0 [-n SIZES] [-b BUILD]" >&2; exit 2 ;;
	esac
done
[ -x /usr/bin/time ] || { echo "run.sh: needs GNU time (apt-get install time)" >&2; exit 1; }
CSIP=$BUILD/csip SEED=$BUILD/bench/export_seed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf "%-10s %-6s %-8s %9s %12s %10s\n" indicators format reader "seconds" "output MB" "peak RSS MB"
for n in $SIZES; do
	d="$work/hub-$n"; mkdir -p "$d"
	printf "[data]\ndir = %s\n\n[export]\nvalidity_days = 0\n" "$d/data" > "$d/csip.conf"
	"$SEED" "$d/csip.conf" "$n" >/dev/null
	for fmt in rpz text stix; do
		for who in hub bench-reader; do
			as=""; [ "$who" = hub ] || as="--as $who"
			# shellcheck disable=SC2086
			t=$(/usr/bin/time -f "%e %M" "$CSIP" --config "$d/csip.conf" \
				export --format "$fmt" $as --output "$d/out" 2>&1 | tail -1)
			bytes=$(stat -c %s "$d/out")
			echo "$n $fmt $who $t $bytes" | awk '{printf "%-10s %-6s %-8s %9.2f %12.1f %10.1f\n", $1, $2, substr($3,1,8), $4, $6/1e6, $5/1024}'
		done
	done
	rm -rf "$d"
done
