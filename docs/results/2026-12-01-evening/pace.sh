#!/usr/bin/env bash
# orderflow all (binary $2) with a full reconciliation every minute, a floor run overlapping the first; OUT=$1
out=$1; bin=$2; mkdir -p $out
cd /work/main
ORDERFLOW_DEV=true ORDERFLOW_RECONCILE_INTERVAL=1m ORDERFLOW_RECONCILE_FULL_INTERVAL=0 $bin all > $out/server.log 2>&1 &
pid=$!
sleep 50
docs/bench-floor.sh $out 167 60 > /dev/null 2>&1
kill $pid; wait $pid 2>/dev/null
echo "$out $(grep 'e2e seen (all)' $out/bench.txt)"
grep "reconciliation" $out/server.log | cut -c1-220
awk '{for(i=2;i<=NF;i++){split($i,a,"="); v[NR,a[1]]=a[2]; k[i]=a[1]}} END{for(i=2;i<=8;i++) printf "%s=%.0f ", k[i], (v[2,k[i]]-v[1,k[i]])/50; print ""}' $out/cpu-samples.txt
