#!/usr/bin/env bash
# N floor runs at 167/s on make run; between runs: pg_stat_statements top by total time (then reset) and table stats
out=$1; n=$2; mkdir -p $out; cd /work/main
PG="psql -h 127.0.0.1 -p 5433 -U postgres -d orderflow -X -q"
for i in $(seq $n); do
  $PG -c "select pg_stat_statements_reset()" >/dev/null
  PGBENCH_SECONDS=0 docs/bench-floor.sh $out/r$i 167 60 > /dev/null 2>&1
  $PG -c "select calls, round(total_exec_time::numeric,0) total_ms, round(mean_exec_time::numeric,3) mean_ms, shared_blks_hit+shared_blks_read blks, left(regexp_replace(query,'\s+',' ','g'),110) q from pg_stat_statements where dbid=(select oid from pg_database where datname='orderflow') order by total_exec_time desc limit 25" > $out/r$i/statements.txt
  $PG -c "select schemaname||'.'||relname rel, n_live_tup, n_dead_tup, autovacuum_count, autoanalyze_count, n_tup_hot_upd, n_tup_upd from pg_stat_user_tables order by n_dead_tup desc limit 15" > $out/r$i/tables.txt
  python3 docs/results/2026-12-02-early/cpu-per-order.py $out/r$i | tee -a $out/summary.txt
done
