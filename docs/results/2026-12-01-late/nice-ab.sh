#!/usr/bin/env bash
# alternate ES nice 0 / nice 10 at RATE for SECS, two rounds
cd /work/main
setnice() { local pid; for pid in $(pgrep -u orderflow-es); do for t in /proc/$pid/task/*; do renice -n $1 -p ${t##*/} >/dev/null; done; done; }
for round in 1 2; do
  for n in 0 10; do
    setnice $n
    docs/bench-cpu.sh $1/nice$n-$round ${BIN:-/tmp/of-x} $2 $3 >/dev/null 2>&1
  done
done
setnice 0
for f in $1/*/summary.txt; do d=$(dirname $f); printf "%-14s %s | %s | %s\n" $(basename $d) "$(grep 'all five' $f | awk '{print $5}')" "$(grep -E '^(orderflow|postgres|kafka|elasticsearch|bench|idle) ' $f | awk '{printf "%s=%s ", $1, $2}')" "$(grep -E 'e2e seen \(all\)|^placeOrder' $d/bench.txt | awk '{printf "%s p50/p99 %s/%s  ", $1, $7, $9}')"; done
