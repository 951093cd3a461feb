#!/usr/bin/env bash
# fresh servers (deps clean) with ORDERFLOW_ES_JIT=$2, make run, three floor runs; OUT=$1
cd /tmp/ci
out=$1; mkdir -p $out
pkill -f 'bin/orderflow all'; sleep 3
deploy/local/deps stop >/dev/null 2>&1
deploy/local/deps clean >/dev/null 2>&1
export ORDERFLOW_ES_JIT=$2
(ORDERFLOW_DEV=true make run > $out/run.log 2>&1 &)
for i in $(seq 240); do curl -sf localhost:8080/readyz >/dev/null && break; sleep 1; done
echo "ready after $i s"
sleep 5
for r in 1 2 3 4 5; do
  /tmp/ser/jit.sh >> $out/jit.txt
  docs/bench-floor.sh $out/r$r 167 60 > /dev/null 2>&1
  /tmp/ser/jit.sh >> $out/jit.txt
  echo "$out r$r $(grep 'e2e seen (all)' $out/r$r/bench.txt) $(grep -c FAIL $out/r$r/bench.txt) fails"
done
grep -i "reconciliation" $out/run.log | cut -c1-200
