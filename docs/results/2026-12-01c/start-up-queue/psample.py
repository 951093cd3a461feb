import os, time, sys, pwd
def procs():
    out = {}
    for p in os.listdir('/proc'):
        if not p.isdigit(): continue
        try:
            with open(f'/proc/{p}/stat') as f: st = f.read()
            with open(f'/proc/{p}/cmdline','rb') as f: cmd = f.read().replace(b'\0', b' ').decode(errors='replace')
            uid = os.stat(f'/proc/{p}').st_uid
        except Exception: continue
        rest = st[st.rindex(')')+2:].split()
        j = int(rest[11]) + int(rest[12])
        if 'kafka.Kafka' in cmd: k = 'kafka'
        elif uid == pwd.getpwnam('postgres').pw_uid: k = 'postgres'
        elif 'elasticsearch' in cmd or (os.path.exists('/proc/'+p) and 'org.elasticsearch' in cmd): k = 'es'
        elif ' all --http-addr' in cmd: k = 'orderflow'
        elif ' bench ' in cmd: k = 'bench'
        else: k = 'other'
        out[p] = (k, j)
    return out
prev = procs(); t0 = time.time()
end = t0 + float(sys.argv[1])
while time.time() < end:
    time.sleep(0.5)
    cur = procs(); agg = {}
    for p, (k, j) in cur.items():
        pj = prev.get(p, (k, 0))[1] if p in prev else 0
        agg[k] = agg.get(k, 0) + (j - pj)
    prev = cur
    print('%5.1f ' % (time.time()-t0) + ' '.join('%s=%3d' % (k, agg.get(k,0)*2) for k in ['orderflow','postgres','kafka','es','bench','other']), flush=True)
