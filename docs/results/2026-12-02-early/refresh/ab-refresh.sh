#!/usr/bin/env bash
# A/B of the read models' refresh interval on the running make run, at RATE for SECS
out=$1; rate=$2; secs=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../.." # the checkout whose make run is serving (it ran from the fresh clone /tmp/fc)
for ri in "$@"; do
  for ix in orders products customers; do curl -s -XPUT "localhost:9200/$ix/_settings" -H 'content-type: application/json' -d "$( [[ $ri == default ]] && echo "{\"index\":{\"refresh_interval\":null}}" || echo "{\"index\":{\"refresh_interval\":\"$ri\"}}")" >/dev/null; done
  n=$(ls -d $out/$ri-* 2>/dev/null | wc -l); d=$out/$ri-$((n+1))
  "$here/esstats.sh" > /tmp/esb.json
  PGBENCH_SECONDS=0 docs/bench-floor.sh $d $rate $secs > /dev/null 2>&1
  "$here/esstats.sh" > /tmp/esa.json
  python3 - $d $rate $secs <<'PY' | tee -a $out/summary.txt
import json,sys,re
d,rate,secs=sys.argv[1],float(sys.argv[2]),float(sys.argv[3])
s=[dict(re.findall(r'(\w+)=([\d.]+)',l)) for l in open(d+'/cpu-samples.txt')]
dt=float(s[1]['t'])-float(s[0]['t'])
b=open(d+'/bench.txt').read()
fin=float(re.search(r'final ([\d.]+)/s',b).group(1))
orders=fin*dt
out=[]
tot=0
for p in ['orderflow','postgres','kafka','elasticsearch','bench']:
    v=(float(s[1][p])-float(s[0][p]))*10/orders; tot+=v; out.append(f"{p} {v:.2f}")
idle=(float(s[1]['idle'])-float(s[0]['idle']))/100/dt
e2e=re.search(r'e2e seen \(all\)\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+([\d.]+)',b)
a=json.load(open('/tmp/esa.json'));bb=json.load(open('/tmp/esb.json'))
na=list(a['nodes'].values())[0]['indices'];nb=list(bb['nodes'].values())[0]['indices']
ref=na['refresh']['total']-nb['refresh']['total']; mt=na['merges']['total_time_in_millis']-nb['merges']['total_time_in_millis']
print(f"{d.split('/')[-1]}: all {tot:.2f} ms/order | "+" ".join(out)+f" | idle {idle:.2f} | e2e p50/p99 {e2e.group(1)}/{e2e.group(2)} | refreshes {ref} merge_ms {mt}")
PY
done
