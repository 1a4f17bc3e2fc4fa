#!/usr/bin/env bash
# s29l (one H200): EXPERIMENT the row stream with a TMA shared-memory ring a warp (TACHYON_STREAM_TMA=slots) against
# the register ring, same binary: linear tests under it, kernel bench rounds, a step.
set -u
source .devdeps/on-device.sh
R=/tmp/s29l; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s29l.tgz -C /tmp s29l' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { grep -B2 -A12 "error" $R/build.log | head -60; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
TACHYON_STREAM_TMA=5 timeout 150 build/tests/tachyon_gpu_tests -tc="gpu linear*" > $R/tests-linear-tma.txt 2>&1; echo "linear tests (tma 5) rc $? $(grep -E 'test cases|assertions' $R/tests-linear-tma.txt | tail -2 | tr '\n' ' ')"
grep -B3 -A14 "ERROR" $R/tests-linear-tma.txt | head -30
for r in 1 2; do
  for v in reg 3 5 8; do
    if [ $v = reg ]; then unset TACHYON_STREAM_TMA; else export TACHYON_STREAM_TMA=$v; fi
    timeout 60 build/bin/tachyon bench kernels --only linear > $R/kernels-linear-$v-r$r.txt 2>&1
  done
done
unset TACHYON_STREAM_TMA
python3 - <<'PY'
R='/tmp/s29l'
import re
def rows(f):
    out={}
    for line in open(f):
        c=[x.strip() for x in line.split('|')]
        if len(c)>6 and c[1] in ('linear bf16','linear fp8','linear bf16, fp32 x') and 'row stream' in c[3]:
            out[(c[1],c[2],c[3])]=(c[4],c[6])
    return out
runs={(v,r):rows(f'{R}/kernels-linear-{v}-r{r}.txt') for v in ['reg','3','5','8'] for r in [1,2]}
print('kernel | model | shape | reg r1 | tma3 r1 | tma5 r1 | tma8 r1 | reg r2 | tma3 r2 | tma5 r2 | tma8 r2')
for k in runs[('reg',1)]:
    print(' | '.join(k), '|', ' | '.join('%s (%s)'%runs[(v,r)].get(k,('-','-')) for r in [1,2] for v in ['reg','3','5','8']))
PY
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,13,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2; do for v in reg 5; do
  if [ $v = reg ]; then unset TACHYON_STREAM_TMA; else export TACHYON_STREAM_TMA=$v; fi
  timeout 80 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,2 --tokens 1 --reps 30 > "$R/step-qwen-$v-r$r.txt" 2>&1
  echo "r$r $v qwen: $(row $R/step-qwen-$v-r$r.txt)"
done; done
echo "total $(( $(date +%s) - t0 )) s"
