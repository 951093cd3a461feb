#!/usr/bin/env bash
# pgbench, two cost runs at 100/s, pgbench again: OUT
cd /work/main
out=$1; mkdir -p $out
P="-h 127.0.0.1 -p 5433 -U postgres"
pgb() { date; dropdb $P --if-exists orderflow_pgbench; createdb $P orderflow_pgbench; psql -q $P -d orderflow_pgbench -f docs/pgbench/setup.sql >/dev/null 2>&1; for c in 8 1; do echo "clients $c"; pgbench -n $P -c $c -j $((c>1?2:1)) -T 20 -f docs/pgbench/insert.sql orderflow_pgbench 2>&1 | grep -E "tps|latency average"; done; dropdb $P orderflow_pgbench; }
pgb > $out/pgbench-before.txt 2>&1
docs/bench-cpu.sh $out/cost-100-1 bin/orderflow 100 30 >/dev/null 2>&1
docs/bench-cpu.sh $out/cost-100-2 bin/orderflow 100 30 >/dev/null 2>&1
pgb > $out/pgbench-after.txt 2>&1
for r in 1 2; do echo "== run $r"; cat $out/cost-100-$r/summary.txt; grep -E "e2e seen \(all\)|^placeOrder" $out/cost-100-$r/bench.txt; done
cat $out/pgbench-before.txt $out/pgbench-after.txt | grep -E "tps|clients|UTC"
