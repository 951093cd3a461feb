#!/usr/bin/env bash
# back-to-back floor runs, with pg_stat_statements and table stats diffed per run
cd /work/main
P="psql -h 127.0.0.1 -p 5433 -U postgres -d orderflow -X -q"
$P -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
n=${1:-5}; base=${2:-/tmp/ser}
for i in $(seq $n); do
  o=$base/run-$i; mkdir -p $o
  $P -c "DROP TABLE IF EXISTS public.snap_s; CREATE TABLE public.snap_s AS SELECT queryid, query, calls, total_exec_time, shared_blks_hit, shared_blks_read, rows FROM pg_stat_statements WHERE dbid=(select oid from pg_database where datname='orderflow');
         DROP TABLE IF EXISTS public.snap_t; CREATE TABLE public.snap_t AS SELECT relid, schemaname, relname, seq_scan, seq_tup_read, idx_scan, n_tup_ins, autovacuum_count, autoanalyze_count, n_dead_tup FROM pg_stat_user_tables;"
  docs/bench-floor.sh $o 167 60 > $o/out.txt 2>&1
  $P -c "\copy (SELECT round((s.total_exec_time - coalesce(b.total_exec_time,0))::numeric,0) AS ms, s.calls - coalesce(b.calls,0) AS calls, round(((s.total_exec_time - coalesce(b.total_exec_time,0))/nullif(s.calls - coalesce(b.calls,0),0))::numeric,3) AS mean_ms, (s.shared_blks_hit+s.shared_blks_read - coalesce(b.shared_blks_hit+b.shared_blks_read,0))/nullif(s.calls - coalesce(b.calls,0),0) AS blks_per_call, left(regexp_replace(s.query, '\s+', ' ', 'g'), 160) FROM pg_stat_statements s LEFT JOIN public.snap_s b USING (queryid) WHERE s.dbid=(select oid from pg_database where datname='orderflow') ORDER BY 1 DESC LIMIT 40) TO '$o/statements.tsv'"
  $P -c "\copy (SELECT t.schemaname||'.'||t.relname, t.seq_scan-b.seq_scan seq_scan, t.seq_tup_read-b.seq_tup_read seq_tup, t.idx_scan-b.idx_scan idx_scan, t.n_tup_ins-b.n_tup_ins ins, t.autovacuum_count-b.autovacuum_count av, t.autoanalyze_count-b.autoanalyze_count aa, t.n_dead_tup FROM pg_stat_user_tables t JOIN public.snap_t b USING (relid) ORDER BY 3 DESC) TO '$o/tables.tsv'"
  grep -E "e2e seen" $o/bench.txt; cat $o/cpu-samples.txt
done
