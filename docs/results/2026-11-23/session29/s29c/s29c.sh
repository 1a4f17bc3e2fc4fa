#!/usr/bin/env bash
# s29c (one H200): row stream, batches of 32 groups; kernel bench under the wk rule and each forced wk.
set -u
source .devdeps/on-device.sh
R=/tmp/s29c; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29c.tgz -C /tmp s29c' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear.txt 2>&1; echo "linear tests rc $? $(grep -E 'test cases|assertions' $R/tests-linear.txt | tail -2 | tr '\n' ' ')"
for wk in rule 1 2 4 8; do
  if [ $wk = rule ]; then unset TACHYON_LINEAR_STREAM_WK; else export TACHYON_LINEAR_STREAM_WK=$wk; fi
  timeout 120 build/bin/tachyon bench kernels --only linear > $R/kernels-linear-wk$wk.txt 2>&1
  echo "wk $wk rc $? $(( $(date +%s) - t0 )) s"
done
unset TACHYON_LINEAR_STREAM_WK
python3 - <<'PY'
import re
R='/tmp/s29c'
rows={}
for wk in ['rule','1','2','4','8']:
    for line in open(f'{R}/kernels-linear-wk{wk}.txt'):
        if 'row stream' not in line: continue
        c=[x.strip() for x in line.split('|')]
        key=(c[1].replace(' (row stream)',''),c[3].replace(' (row stream)',''))
        rows.setdefault(key,{})[wk]=c[4]
for line in open(f'{R}/kernels-linear-wkrule.txt'):
    if '(clusters)' in line or ('splits' in line and 'row stream' not in line):
        c=[x.strip() for x in line.split('|')]
        key=(c[1].replace(' (clusters)',''),re.sub(r' \(splits.*','',c[3]))
        for k in rows:
            if k[0]==key[0] and k[1]==key[1]: rows[k]['clusters']=c[4]
print('kernel | shape | rule | wk1 | wk2 | wk4 | wk8 | clusters')
for k,v in rows.items():
    if not re.search(r'm=(1|2)$',k[1]): continue
    print(k[0],'|',k[1],'|',' | '.join(v.get(x,'-') for x in ['rule','1','2','4','8','clusters']))
PY
echo "total $(( $(date +%s) - t0 )) s"
