# Medians of speedup_paired, cpu1_ms, cpu2_ms over before_N.json / after_N.json (see notes.md).
import json,glob,statistics,sys
d=sys.argv[1]
for lab in ('before','after'):
    for mode in ('dp','ddp'):
        vals=[];c1=[];c2=[]
        for i in range(1,100):
            try: j=json.load(open(f'{d}/{lab}_{i}.json'))
            except FileNotFoundError: break
            for b in j['benchmarks']:
                if b['name'].split('/')[1]==mode: vals.append(b['speedup_paired']); c1.append(b['cpu1_ms']); c2.append(b['cpu2_ms'])
        print(f"{lab:6s} {mode:3s} runs {len(vals)} median {statistics.median(vals):.3f} min {min(vals):.3f} max {max(vals):.3f} | cpu:1 {statistics.median(c1):.1f} ms cpu:2 {statistics.median(c2):.1f} ms | "+' '.join('%.2f'%v for v in vals))
