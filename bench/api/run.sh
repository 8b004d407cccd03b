#!/bin/sh
# run.sh - the API benchmark: wrk on loopback at 64 connections, item
# reads, pages of the item list, TAXII 2.1 pages of up to 1,000 objects,
# and report submissions, with 1,000 and 1,000,000 stored items in one
# run, so the two can be compared.
#
#   bench/api/run.sh [-n "1000 1000000"] [-d SECONDS] [-r RUNS] [-b BUILD]
#                    [-l "read list taxii submit"] [-B "sqlite postgresql"]
#
# For each store size: a fresh hub seeded by bench/api/seed (straight
# into the tables), `csip serve` on a free port with the rate limit off,
# then RUNS runs of each load (median requests/s, p50 and p99 reported).
# -B names the backends, side by side: postgresql runs on a throwaway
# server of scripts/pg-test with its durable defaults (this script starts
# one when CSIP_TEST_PG is not set).  Needs wrk (apt-get install wrk).
set -eu
SIZES="1000 1000000" DUR=10 RUNS=3 BUILD=build LOADS="read list taxii submit"
BACKENDS=sqlite
while getopts n:d:r:b:l:B: o; do
	case $o in
	n) SIZES=$OPTARG ;; d) DUR=$OPTARG ;; r) RUNS=$OPTARG ;;
	b) BUILD=$OPTARG ;; l) LOADS=$OPTARG ;; B) BACKENDS=$OPTARG ;;
	*) echo "usage: $0 [-n SIZES] [-d SECONDS] [-r RUNS] [-b BUILD] [-l LOADS] [-B BACKENDS]" >&2
	   exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
case " $BACKENDS " in
*" postgresql "*)
	if [ -z "${CSIP_TEST_PG:-}" ]; then
		CSIP_PG_DURABLE=1 exec sh "$here/../../scripts/pg-test" \
			sh "$0" "$@"
	fi ;;
esac
command -v wrk >/dev/null || { echo "run.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$work"' EXIT

# median of numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# wrk --latency output -> "rps p50_ms p99_ms"
parse() {
	awk '/Requests\/sec/ {rps=$2}
	     function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
	     $1=="50.000%" || $1=="50%" {p50=ms($2)} $1=="99.000%" || $1=="99%" {p99=ms($2)}
	     END {print rps, p50, p99}'
}

printf "%-10s %-10s %-8s %12s %10s %10s\n" backend items load "req/s" "p50 ms" "p99 ms"
for be in $BACKENDS; do
for n in $SIZES; do
	d="$work/hub-$be-$n"; mkdir -p "$d"
	db=""
	if [ "$be" = postgresql ]; then
		name="csip_bench_$n"
		PGOPTIONS=--client-min-messages=warning psql -X -q -d "$CSIP_TEST_PG" -c "DROP DATABASE IF EXISTS $name" \
			-c "CREATE DATABASE $name"
		db="[database]
url = $(echo "$CSIP_TEST_PG" | sed "s|/postgres?|/$name?|")"
	fi
	cat > "$d/csip.ini" <<INI
[data]
dir = $d
$db
[server]
listen = 127.0.0.1:0
rate_limit = 0
threads = 4
INI
	tokens=$("$BUILD/bench/api_seed" "$d/csip.ini" "$n")
	reader=$(echo "$tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reader"])')
	provider=$(echo "$tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["provider"])')
	"$BUILD/csip" --config "$d/csip.ini" serve --quiet > "$d/out" 2> "$d/err" &
	srv=$!
	for _ in $(seq 50); do grep -q serving "$d/out" 2>/dev/null && break; sleep 0.1; done
	url=$(sed -n 's/.*serving on \(http:[^ ]*\)\/ .*/\1/p' "$d/out")
	for load in $LOADS; do
		tok=$reader; [ $load = submit ] && tok=$provider
		: > "$d/$load.txt"
		for _ in $(seq "$RUNS"); do
			# A TAXII page of 1,000 objects queued behind 63 others
			# takes longer than wrk's default 2 s timeout.
			ITEMS=$n TOKEN=$tok wrk -t2 -c64 -d"${DUR}s" --latency \
				--timeout 60s \
				-s "$here/$load.lua" "$url" | parse >> "$d/$load.txt"
		done
		rps=$(cut -d' ' -f1 "$d/$load.txt" | median)
		p50=$(cut -d' ' -f2 "$d/$load.txt" | median)
		p99=$(cut -d' ' -f3 "$d/$load.txt" | median)
		printf "%-10s %-10s %-8s %12.0f %10.2f %10.2f\n" "$be" "$n" "$load" "$rps" "$p50" "$p99"
	done
	kill -TERM $srv; wait $srv || true; srv=
done
done
