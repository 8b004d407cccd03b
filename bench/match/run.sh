#!/bin/sh
# run.sh - the `csip match` benchmark, side by side in one run.
#
#   bench/match/run.sh [-s SIZE] [-n SETS] [-r RUNS] [-c "CSIP MATCH-COMMAND"] [-o DIR]
#
# Generates (bench/match/gen.py, fixed seed) logs of about SIZE bytes in
# six formats and indicator lists of each size in SETS, then times on the
# same files: dd (the read limit), csip match on one thread and on all,
# grep -F -f, rg -F -f, and the Python reference ref.py.  Reports medians of
# RUNS runs as MB/s and as ratios to grep; checks that csip's sightings are
# exactly ref.py's (the reference runs on at most REF_MAX bytes of each log
# when the logs are larger, the same prefix for both).  grep and rg get
# TOOL_TIMEOUT seconds per run; a tool that is cut is reported as "<".
# Needs python3, grep, GNU time; rg (Debian: apt-get install ripgrep) is
# optional: without it its column says "n/a".
set -eu

SIZE=64M SETS=10000,100000,1000000 RUNS=3 CSIP="build/csip match" OUT=/tmp/csip-match-bench
REF_MAX=${REF_MAX:-8388608} TOOL_TIMEOUT=${TOOL_TIMEOUT:-120}
BASE_RUNS=${BASE_RUNS:-1}
while getopts s:n:r:c:o: o; do
	case $o in
	s) SIZE=$OPTARG ;; n) SETS=$OPTARG ;; r) RUNS=$OPTARG ;;
	c) CSIP=$OPTARG ;; o) OUT=$OPTARG ;;
	*) echo "usage: $0 [-s SIZE] [-n SETS] [-r RUNS] [-c "CSIP MATCH-COMMAND"] [-o DIR]" >&2
	   exit 2 ;;
	esac
done
here=$(cd "$(dirname "$0")" && pwd)
[ -f "$OUT/.done-$SIZE-$SETS" ] || {
	python3 "$here/gen.py" --size "$SIZE" --sets "$SETS" --out "$OUT"
	touch "$OUT/.done-$SIZE-$SETS"
}
LOGS="$OUT/squid.log $OUT/bind.log $OUT/zeek-dns.log $OUT/eve.log $OUT/postfix.log $OUT/text.log"
BYTES=$(cat $LOGS | wc -c)

# Wall seconds of a command (output to a scratch file), or "" when it
# failed or timed out.
secs() {
	t0=$(date +%s.%N)
	# Not > /dev/null: GNU grep stops at the first match when it sees
	# its output is /dev/null.
	if timeout "$TOOL_TIMEOUT" "$@" > "$OUT/.tool-out" 2>&1 || [ $? -eq 1 ]; then
		t1=$(date +%s.%N)
		echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
	fi
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

# MB/s: median of RUNS runs of the command (R overrides RUNS).
rate() {
	ts=""
	i=0
	while [ $i -lt "${R:-$RUNS}" ]; do
		ts="$ts $(secs "$@")"
		i=$((i + 1))
	done
	m=$(echo "$ts" | median)
	if [ -z "$m" ]; then echo "<$(echo "$BYTES $TOOL_TIMEOUT" | awk '{ printf "%.1f", $1 / $2 / 1e6 }')"; else
		echo "$BYTES $m" | awk '{ printf "%.1f", $1 / $2 / 1e6 }'; fi
}

# csip_rate THREADS LIST: "wall/cpu" MB/s of the scan (load excluded),
# medians of RUNS runs; sets $load to "load wall (cpu), peak RSS".
csip_rate() {
	w="" c="" i=0
	while [ $i -lt "$RUNS" ]; do
		# The load alone, on an empty log.
		lt=$(/usr/bin/time -f "%e %U %S" $CSIP -q --threads "$1" --indicators "$2" /dev/null 2>&1 | tail -1)
		t=$(/usr/bin/time -f "%e %U %S %M" $CSIP -q --threads "$1" --indicators "$2" $LOGS 2>&1 >/dev/null | tail -1)
		w="$w $(echo "$BYTES $t $lt" | awk '{ d = $2 - $6; if (d <= 0) d = 0.001; printf "%.1f", $1 / d / 1e6 }')"
		c="$c $(echo "$BYTES $t $lt" | awk '{ d = $3 + $4 - $7 - $8; if (d <= 0) d = 0.001; printf "%.1f", $1 / d / 1e6 }')"
		load=$(echo "$t $lt" | awk '{ printf "%.2f s (%.2f), %.0f", $5, $6 + $7, $4 / 1024 }')
		i=$((i + 1))
	done
	echo "$load" > "$OUT/.load-$1"
	echo "$(echo "$w" | median)/$(echo "$c" | median)"
}

echo "logs: $BYTES bytes in 6 formats; medians of $RUNS runs ($BASE_RUNS for grep and rg); MB/s"
echo "csip columns: wall/CPU MB/s of the scan, the indicator load excluded (shown apart)"
command -v rg > /dev/null 2>&1 || echo "note: rg (ripgrep) is not installed; its column is skipped"
cat $LOGS > /dev/null
printf '%-9s %-8s %13s %13s %9s %9s %9s %9s  %s\n' indicators dd csip-1t csip-all grep-F rg-F ref.py csip/grep "load s (cpu), peak RSS MiB"
for n in $(echo "$SETS" | tr ',' ' '); do
	ind="$OUT/indicators-$n.txt"
	dd_r=$(rate dd if="$OUT/squid.log" of=/dev/null bs=1M)
	# dd reads one file; time all of them.
	dd_r=$(rate sh -c "cat $LOGS | dd of=/dev/null bs=1M")
	# csip: scanning rate without the load (which is reported apart),
	# wall clock and CPU (user + sys) time, medians; peak RSS.
	c1=$(csip_rate 1 "$ind")
	ca=$(csip_rate 0 "$ind")
	gr=$(R=$BASE_RUNS rate grep -F -c -f "$ind" $LOGS)
	if command -v rg > /dev/null 2>&1; then
		rg=$(R=$BASE_RUNS rate rg -F -c -f "$ind" $LOGS)
	else
		rg=n/a
	fi
	load=$(cat "$OUT/.load-1")
	# The reference on a prefix of each log (it runs at a few MB/s).
	mkdir -p "$OUT/ref"
	for f in $LOGS; do head -c "$REF_MAX" "$f" | sed '$d' > "$OUT/ref/$(basename "$f")"; done
	RLOGS=$(for f in $LOGS; do echo "$OUT/ref/$(basename "$f")"; done)
	rb=$(cat $RLOGS | wc -c)
	t0=$(date +%s.%N)
	python3 "$here/ref.py" --indicators "$ind" $RLOGS > "$OUT/ref-$n.jsonl"
	t1=$(date +%s.%N)
	rr=$(echo "$rb $t0 $t1" | awk '{ printf "%.1f", $1 / ($3 - $2) / 1e6 }')
	$CSIP -q --threads 2 --indicators "$ind" $RLOGS |
		sed 's/,"timestamp":.*}$/}/' > "$OUT/csip-$n.jsonl"
	if cmp -s "$OUT/csip-$n.jsonl" "$OUT/ref-$n.jsonl"; then
		same="identical ($(wc -l < "$OUT/ref-$n.jsonl") sightings)"
	else
		same="DIFFERENT: diff $OUT/csip-$n.jsonl $OUT/ref-$n.jsonl"
	fi
	ratio=$(echo "$c1 $gr" | sed 's/[<\/]/ /g' | awk '{ printf "%s%.0fx", $NF ~ /</ ? ">" : "", $1 / $NF }')
	printf '%-9s %-8s %13s %13s %9s %9s %9s %9s  %s\n' "$n" "$dd_r" "$c1" "$ca" "$gr" "$rg" "$rr" "$ratio" "$load"
	echo "  sightings vs ref.py on $rb bytes: $same"
done
