#!/usr/bin/env bash
# alternate Kafka thread settings; each variant: restart kafka, warm run, measured run
cd /work/main
for round in 1 2; do
  for v in $VARIANTS; do
    name=${v%%:*}; kt=${v#*:}
    deploy/local/deps stop kafka >/dev/null 2>&1
    if [[ $kt == default ]]; then unset XF_KTHREADS; else export XF_KTHREADS=$kt; fi
    deploy/local/deps start kafka >/dev/null 2>&1
    grep -E "num\.(io|network)" .local/kafka/server.properties > $1.$name-$round.props 2>/dev/null
    docs/bench-cpu.sh $1/warm-$name-$round /tmp/of-x $2 40 >/dev/null 2>&1
    docs/bench-cpu.sh $1/$name-$round /tmp/of-x $2 $3 >/dev/null 2>&1
  done
done
unset XF_KTHREADS
for f in $1/[!w]*/summary.txt $1/warm*/summary.txt; do d=$(dirname $f); printf "%-16s %s | %s | %s\n" $(basename $d) "$(grep 'all five' $f | awk '{print $5}')" "$(grep -E '^(orderflow|postgres|kafka|elasticsearch|bench|idle) ' $f | awk '{printf "%s=%s ", $1, $4}')" "$(grep -E 'e2e seen \(all\)' $d/bench.txt | awk '{printf "e2e p50/p99 %s/%s", $7, $9}')"; done
