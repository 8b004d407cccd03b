#!/bin/sh
# bench/ingest/run.sh - mail intake speed, csip against its peers, in one
# run: parse + extract + anonymise in C (csip), the same in Python 3 (the
# standard email package and regular expressions, bench/ingest/peer.py),
# and GMime alone parsing and decoding (the ceiling).  Each runs RUNS times
# over the same mails; the medians and their ratios are printed as a
# Markdown table for docs/PERFORMANCE.md, followed by a comparison of the
# indicator sets (bench/ingest/compare.py: per type, what both found, what
# only one side found and why).
#
# Usage: bench/ingest/run.sh [BUILD-DIR] [RUNS]
# The corpus is ../shared/testdata/mail (all of it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build}
runs=${2:-5}
corpus=$top/../shared/testdata/mail
[ -d "$corpus" ] || { echo "run.sh: no corpus at $corpus" >&2; exit 1; }
[ -x "$build/bench/ingest_bench" ] || {
	echo "run.sh: build first (ninja -C $build)" >&2; exit 1; }

list=$(mktemp)
trap 'rm -f "$list" "$list".*' EXIT
find "$corpus/phishing_pot" "$corpus/sisimai" "$corpus/stalwart" \
	-type f -name '*.eml' -o -type f -path '*maildir*' | sort > "$list"

for i in $(seq "$runs"); do
	xargs "$build/bench/ingest_bench" < "$list" >> "$list.c"
	xargs python3 "$here/peer.py" --bench < "$list" >> "$list.py"
	xargs "$build/bench/ingest_bench" --gmime-only < "$list" >> "$list.g"
done

python3 - "$list.c" "$list.py" "$list.g" <<'PY'
import json, statistics, sys
rows = {}
for path in sys.argv[1:]:
    runs = [json.loads(l) for l in open(path) if l.strip()]
    t = statistics.median(r["seconds"] for r in runs)
    r = runs[0]
    rows[r["tool"]] = dict(msgs=r["messages"] / t, mbs=r["bytes"] / t / 1e6,
                           ind=r["indicators"], failed=r["failed"],
                           n=r["messages"], t=t)
c, p, g = rows["csip"], rows["python"], rows["gmime"]
print("| | messages/s | MB/s | indicators | ratio to Python |")
print("|---|---:|---:|---:|---:|")
for name, r in (("csip (parse+extract+anonymise)", c),
                ("Python email + regex", p),
                ("GMime parse+decode only (ceiling)", g)):
    print("| %s | %.0f | %.1f | %s | %.1fx |" % (
        name, r["msgs"], r["mbs"], r["ind"] if name[0] != "G" else "-",
        r["msgs"] / p["msgs"]))
print()
print("%d messages, median of %d runs" % (c["n"], len(open(sys.argv[1]).readlines())))
PY

echo
python3 "$here/compare.py" --list "$list" "$build/csip" "$here/peer.py"
