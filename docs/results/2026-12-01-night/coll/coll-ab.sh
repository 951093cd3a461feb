#!/usr/bin/env bash
# A/B: the database's collation C.UTF-8 (default) vs C, alternated, 100/s 30 s; OUT
# /tmp/night/bench-cpu-x.sh was docs/bench-cpu.sh (at 7c0907c) with bench-cpu-x.patch applied: the createdb flags in XF_CREATEDB, run from /work/main
out=$1; mkdir -p $out; cd /work/main
for i in 1 2; do
  XF_CREATEDB="" /tmp/night/bench-cpu-x.sh $out/utf8-$i bin/orderflow 100 30 >/dev/null 2>&1
  XF_CREATEDB="--template=template0 --lc-collate=C --lc-ctype=C.UTF-8" /tmp/night/bench-cpu-x.sh $out/c-$i bin/orderflow 100 30 >/dev/null 2>&1
done
for r in utf8-1 c-1 utf8-2 c-2; do echo "== $r"; cat $out/$r/summary.txt; grep -E "e2e seen \(all\)" $out/$r/bench.txt; done
