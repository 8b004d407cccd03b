#!/bin/sh
# bench/correlate/run.sh - the correlation index against plain indexed SQL
# on SQLite, at 1,000, 100,000 and 10,000,000 stored indicators (or the
# sizes given): time to correlate a new report of 50 indicators (median
# and 99th percentile), memory and disk of the index against the
# observation table it indexes, and a full rebuild.  Prints a Markdown
# table for docs/PERFORMANCE.md.
#
# Usage: bench/correlate/run.sh [BUILD-DIR] [SIZES...]
# Each size runs in a fresh temporary folder (removed afterwards).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift
sizes=${*:-1000 100000 10000000}
bench=$build/bench/correlate_bench
[ -x "$bench" ] || { echo "run.sh: build first (ninja -C $build)" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for n in $sizes; do
	dir=$(mktemp -d -t csip-corr-bench.XXXXXX)
	"$bench" "$dir" "$n" 200 >> "$out"
	rm -rf "$dir"
done

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mib = lambda b: "%.1f MiB" % (b / 1048576.0) if b >= 0 else "n/a"
print("| indicators | index: median / p99 | SQL: median / p99 | "
      "correlate+commit: median / p99 | index memory | index file | "
      "observation table + indexes | rebuild | index load |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print("| {:,} | {:.0f} / {:.0f} µs | {:.0f} / {:.0f} µs | "
          "{:.0f} / {:.0f} µs | {} | {} | {} | {:.1f} s | {:.2f} s |".format(
              r["indicators"], r["index_us_median"], r["index_us_p99"],
              r["sql_us_median"], r["sql_us_p99"], r["full_us_median"],
              r["full_us_p99"], mib(r["index_mem_bytes"]),
              mib(r["index_file_bytes"]), mib(r["observation_bytes"]),
              r["rebuild_s"], r["index_load_s"]))
PY
