#!/usr/bin/env bash
# fresh clone (CI of this commit passed before: issues ci), deps clean, make run, five floor runs, pushes; OUT=$1
out=$1; mkdir -p $out
cd /work/main && deploy/local/deps stop >/dev/null 2>&1
rm -rf /tmp/fc && git clone -q /work/main /tmp/fc && cd /tmp/fc && git log --oneline | head -1 > $out/commit.txt
deploy/local/deps clean >/dev/null 2>&1
(ORDERFLOW_DEV=true make run > $out/run.log 2>&1 &)
for i in $(seq 400); do curl -sf localhost:8080/readyz >/dev/null && break; sleep 1; done
echo "ready after $i s" | tee $out/ready.txt
sleep 5
for r in 1 2 3 4 5; do
  docs/bench-floor.sh $out/r$r 167 60 > /dev/null 2>&1
  echo "r$r $(grep 'e2e seen (all)' $out/r$r/bench.txt) $(grep -c FAIL $out/r$r/bench.txt) fails; pgbench $(grep -o "tps = [0-9]*" $out/r$r/pgbench.txt | tr -d "tps= " | tr "\n" " ")" | tee -a $out/summary.txt
done
for rate in 185 200 220; do
  docs/bench-floor.sh $out/p$rate $rate 60 > /dev/null 2>&1
  echo "p$rate $(grep 'e2e seen (all)' $out/p$rate/bench.txt) $(grep -c FAIL $out/p$rate/bench.txt) fails; pgbench $(grep -o "tps = [0-9]*" $out/p$rate/pgbench.txt | tr -d "tps= " | tr "\n" " ")" | tee -a $out/summary.txt
done
grep -i "reconciliation" $out/run.log | cut -c1-200 > $out/reconcile.txt
echo done >> $out/summary.txt
