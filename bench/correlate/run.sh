#!/bin/sh
# bench/correlate/run.sh - the correlation index against plain indexed SQL
# on SQLite, at 1,000, 100,000 and 10,000,000 stored indicators (or the
# sizes given): time to correlate a new report of 50 indicators (median
# and 99th percentile, and the median CPU time), memory and disk of the
# index against the observation table it indexes, the size of the link
# table, and a full rebuild (wall and CPU time).  Prints a Markdown
# table for docs/PERFORMANCE.md.
#
# Usage: bench/correlate/run.sh [BUILD-DIR] [SIZES...]
# Each size runs in a fresh temporary folder (removed afterwards), on each
# backend of BACKENDS (default "sqlite"; "sqlite postgresql" side by side,
# PostgreSQL on a throwaway server of scripts/pg-test with its durable
# defaults, started here when CSIP_TEST_PG is not set).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
BACKENDS=${BACKENDS:-sqlite}
case " $BACKENDS " in
*" postgresql "*)
	if [ -z "${CSIP_TEST_PG:-}" ]; then
		CSIP_PG_DURABLE=1 BACKENDS="$BACKENDS" exec sh \
			"$here/../../scripts/pg-test" sh "$0" "$@"
	fi ;;
esac
top=$(cd "$here/../.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift
sizes=${*:-1000 100000 10000000}
bench=$build/bench/correlate_bench
[ -x "$bench" ] || { echo "run.sh: build first (ninja -C $build)" >&2; exit 1; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for be in $BACKENDS; do
for n in $sizes; do
	dir=$(mktemp -d -t csip-corr-bench.XXXXXX)
	if [ "$be" = postgresql ]; then
		name="csip_corr_$n"
		PGOPTIONS=--client-min-messages=warning psql -X -q -d "$CSIP_TEST_PG" -c "DROP DATABASE IF EXISTS $name" \
			-c "CREATE DATABASE $name"
		"$bench" "$dir" "$n" 200 \
			"$(echo "$CSIP_TEST_PG" | sed "s|/postgres?|/$name?|")" |
			sed 's/^{/{"backend": "postgresql", /' >> "$out"
	else
		"$bench" "$dir" "$n" 200 |
			sed 's/^{/{"backend": "sqlite", /' >> "$out"
	fi
	rm -rf "$dir"
done
done

python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mib = lambda b: "%.1f MiB" % (b / 1048576.0) if b >= 0 else "n/a"
print("| backend | indicators | index: median / p99 | SQL: median / p99 | "
      "correlate+commit: median / p99 | correlate+commit CPU: median | "
      "index memory | index file | observation table + indexes | "
      "corr_link + indexes | rebuild (CPU) | index load |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print("| {} | {:,} | {:.0f} / {:.0f} µs | {:.0f} / {:.0f} µs | "
          "{:.0f} / {:.0f} µs | {:.0f} µs | {} | {} | {} | {} | "
          "{:.1f} s ({:.1f} s) | {:.2f} s |".format(
              r["backend"], r["indicators"], r["index_us_median"], r["index_us_p99"],
              r["sql_us_median"], r["sql_us_p99"], r["full_us_median"],
              r["full_us_p99"], r["full_cpu_us_median"],
              mib(r["index_mem_bytes"]), mib(r["index_file_bytes"]),
              mib(r["observation_bytes"]), mib(r["link_bytes"]),
              r["rebuild_s"], r["rebuild_cpu_s"], r["index_load_s"]))
PY
