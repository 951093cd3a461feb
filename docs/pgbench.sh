#!/usr/bin/env bash
# The host's reference for docs/benchmarks.md: PostgreSQL's one-row insert
# (docs/pgbench/insert.sql) with 8 and with 1 client, on a scratch database
# of the local server. The bench scripts run it in the same run as their
# load, because this host's speed moves within the hour (benchmarks.md,
# "2026-12-01, late evening"): a figure is only comparable to another taken
# next to the same reference.
#
#   docs/pgbench.sh [SECONDS]        e.g. docs/pgbench.sh 15 | tee pgbench.txt
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
PG=(-h 127.0.0.1 -p 5433 -U postgres)
echo "== pgbench one-row insert (docs/pgbench), 8 and 1 clients, $secs s each, $(date -u +%FT%TZ)"
dropdb "${PG[@]}" --if-exists orderflow_pgbench 2>/dev/null
createdb "${PG[@]}" orderflow_pgbench
psql -q "${PG[@]}" -d orderflow_pgbench -f docs/pgbench/setup.sql >/dev/null 2>&1
for c in 8 1; do
	pgbench -n "${PG[@]}" -c $c -j $((c > 1 ? 2 : 1)) -T "$secs" -f docs/pgbench/insert.sql orderflow_pgbench 2>&1 |
		grep -E 'clients|tps|latency average'
done
dropdb "${PG[@]}" orderflow_pgbench
