import re,sys,os
def parse(l): return {k:int(v) for k,v in re.findall(r'(\w+)=(\d+)',l)}
cats=[('begin/commit/rollback',r'^(begin|commit|rollback)$'),
('saga: lock + load',r'pg_advisory_xact_lock|ANY \(applied\), state|processed_events WHERE event_id = \$1\), \(SELECT state'),
('saga: processed look-up (no tx)',r'^SELECT EXISTS \(SELECT 1 FROM sagas(?!.*SELECT state)'),
('saga: save state',r'INSERT INTO sagas.order_sagas'),
('saga: processed_events insert',r'INSERT INTO sagas.processed_events'),
('inbox look-ups',r'FROM "\w+"."inbox" WHERE'),
('inbox inserts',r'INSERT INTO "\w+"."inbox"'),
('event appends',r'INSERT INTO "\w+"."events"'),
('stream reads',r'^SELECT position, event_id'),
('relay reads',r'^WITH h AS MATERIALIZED'),
('relay checkpoints',r'relay_checkpoints'),
]
for d in sys.argv[1:]:
    a=parse(open(d+'/cpu').read().splitlines()[0])
    n=3000-a['orders']
    rows=[]
    for line in open(d+'/statements.txt').read().splitlines()[2:]:
        m=re.match(r'\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(.*)$',line)
        if m: rows.append((int(m.group(1)),m.group(3).strip()))
    rows=[r for r in rows if 'pg_stat' not in r[1] and 'count(distinct' not in r[1] and 'xact_commit' not in r[1]]
    tot=sum(c for c,_ in rows)
    out={}
    for name,pat in cats:
        out[name]=sum(c for c,q in rows if re.search(pat,q))/n
    other=tot/n-sum(out.values())
    bc=out['begin/commit/rollback']
    print(os.path.basename(d), "orders %d  all statements %.1f  excl. begin/commit %.1f"%(n,tot/n,tot/n-bc))
    for k,v in out.items(): print("   %-34s %.2f"%(k,v))
    print("   %-34s %.2f"%('other',other))
