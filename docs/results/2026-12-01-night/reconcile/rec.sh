#!/usr/bin/env bash
# CPU of one `orderflow reconcile --dry-run` against make run's database, per process; OUT BIN
out=$1; bin=${2:-/tmp/orderflow-xf}; mkdir -p $out
cd /work/main
j() { local t=0; for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
snap() { echo "t=$(date +%s.%N) orderflow=$(j $(pgrep -f 'bin/orderflow all')) postgres=$(j $(pgrep -u postgres)) kafka=$(j $(pgrep -f kafka.Kafka)) elasticsearch=$(j $(pgrep -u orderflow-es java)) idle=$(awk '/^cpu /{print $5}' /proc/stat)"; }
snap > $out/cpu
ORDERFLOW_DEV=true XF_CPUPROFILE=$out/cpu.pprof /usr/bin/time -f "reconcile: %e s wall, %U user %S sys" $bin reconcile --dry-run --json > $out/report.json 2> $out/time.txt
snap >> $out/cpu
tail -1 $out/time.txt
python3 - $out <<'PY'
import re,sys,json
out=sys.argv[1]
a,b=[{k:float(v) for k,v in re.findall(r'(\w+)=([\d.]+)',l)} for l in open(out+'/cpu')]
t=open(out+'/time.txt').read().splitlines()[-1]
u,s=map(float,re.findall(r'([\d.]+) (?:user|sys)',t))
rep=json.load(open(out+'/report.json'))
n=rep['checked']['orders'] if 'checked' in rep else None
print('checked', rep.get('checked'))
w=b['t']-a['t']
for k in ['orderflow','postgres','kafka','elasticsearch','idle']:
    d=(b[k]-a[k])/100
    print(f"{k:14} {d:7.1f} s  {d/w:5.2f} cores" + (f"  {d*1000/n:6.3f} ms/order" if n else ''))
print(f"{'reconcile':14} {u+s:7.1f} s  {(u+s)/w:5.2f} cores" + (f"  {(u+s)*1000/n:6.3f} ms/order" if n else ''))
PY
