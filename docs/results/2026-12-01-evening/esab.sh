#!/usr/bin/env bash
# restart Elasticsearch alone with ES_JAVA_OPTS=$2, then two floor runs; OUT=$1
cd /work/main
out=$1; mkdir -p $out
deploy/local/deps stop elasticsearch >/dev/null 2>&1
ES_JAVA_OPTS="$2" deploy/local/deps start elasticsearch > $out/start.log 2>&1
for i in $(seq 30); do curl -sf localhost:8080/readyz >/dev/null && break; sleep 1; done
sleep 5
for r in 1 2; do
  /tmp/ser/jit.sh >> $out/jit.txt
  docs/bench-floor.sh $out/r$r 167 60 > /dev/null 2>&1
  /tmp/ser/jit.sh >> $out/jit.txt
  echo "$out r$r $(grep 'e2e seen (all)' $out/r$r/bench.txt)"
done
