import re,sys
for d in sys.argv[1:]:
    s=[dict(re.findall(r'(\w+)=([\d.]+)',l)) for l in open(d+'/cpu-samples.txt')]
    dt=float(s[1]['t'])-float(s[0]['t']); b=open(d+'/bench.txt').read()
    fin=float(re.search(r'final ([\d.]+)/s',b).group(1)); n=fin*dt
    per={p:(float(s[1][p])-float(s[0][p]))*10/n for p in ['orderflow','postgres','kafka','elasticsearch','bench']}
    pl=re.search(r'placeOrder\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)',b).group(1)
    e2e=re.search(r'e2e seen \(all\)\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+([\d.]+)',b)
    res=re.search(r'^result\s+(\w+)',b,re.M).group(1)
    print(f"{d.split('/')[-1]}: final {fin}/s, placeOrder p99 {pl}, e2e p50/p99 {e2e.group(1)}/{e2e.group(2)}, all {sum(per.values()):.2f} ms/order (" + ", ".join(f"{p} {v:.2f}" for p,v in per.items()) + f"), idle {(float(s[1]['idle'])-float(s[0]['idle']))/100/dt:.2f}, {res}")
