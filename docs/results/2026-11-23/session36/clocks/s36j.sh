#!/usr/bin/env bash
# s36j (one H200): the SM and memory clocks while the step runs (nvidia-smi sampled every 100 ms), read only.
set -u
source .devdeps/on-device.sh
R=/tmp/s36j; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s36j.tgz -C /tmp s36j' EXIT
nvidia-smi -q -d CLOCK,PERFORMANCE > $R/clocks-idle.txt 2>&1
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || exit 1
echo "build $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,clocks.max.sm,power.draw,clocks_throttle_reasons.active,utilization.gpu --format=csv -lms 100 > $R/clocks-run.csv 2>&1 &
SP=$!
for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do timeout 120 build/bin/tachyon bench step --model $m --moe-parallel tp --seqs 1 --tokens 1 --reps 200 > $R/step-$m.txt 2>&1; grep -E '^\| (mimo|qwen)' $R/step-$m.txt | cut -d'|' -f5,7,13,14; done
timeout 60 build/bin/tachyon bench kernels --only attention > $R/katt.txt 2>&1
kill $SP
grep -E "Clocks|SM  |Memory  |Graphics|Max|Applications|Default|Throttle|Idle|Active" $R/clocks-idle.txt | head -40
python3 - <<PY
import csv,collections
rows=list(csv.reader(open('$R/clocks-run.csv')))
hdr=rows[0]; data=rows[1:]
print(hdr)
sm=collections.Counter(r[1].strip() for r in data if len(r)>6)
print('sm clock samples', sm.most_common(8))
thr=collections.Counter(r[5].strip() for r in data if len(r)>6)
print('throttle reasons', thr.most_common(5))
util=collections.Counter(r[6].strip() for r in data if len(r)>6)
print('util', util.most_common(5))
PY
echo "total $(( $(date +%s) - t0 )) s"
