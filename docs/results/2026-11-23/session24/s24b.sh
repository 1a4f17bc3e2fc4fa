#!/usr/bin/env bash
# s24b (2 x H200): issue 9's load with the kinds lent: a random Qwen3-235B-A22B-shaped checkpoint cut to 22 layers
# (~31 GB, so each of 2 ranks reads about one 8-rank share of the whole ~130 GB file), written here, then read by 2 ranks
# onto their GPUs with the page cache dropped first (tachyon bench load --evict-cache), tp and ep.
set -u
source .devdeps/on-device.sh
R=/tmp/s24b; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s24b.tgz -C /tmp s24b' EXIT
[[ -x build/bin/tachyon ]] || { cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 --target tachyon > $R/build.log 2>&1; }
echo "build ready $(( $(date +%s) - t0 )) s"
nproc > $R/nproc.txt; df -h . /tmp > $R/df.txt; free -g > $R/free.txt
W=/tmp/load; mkdir -p $W
sed 's/"num_hidden_layers": 94/"num_hidden_layers": 22/' scripts/bench/configs/qwen3_235b_a22b.json > $W/qwen3_235b_a22b_22l.json
grep -o '"num_hidden_layers": [0-9]*' $W/qwen3_235b_a22b_22l.json
timeout 420 scripts/bench/load_test.sh build/bin/tachyon $W $W/qwen3_235b_a22b_22l.json 0 > $R/write.txt 2>&1; echo "write rc $? $(cat $R/write.txt)"
cp $W/convert.log $R/ 2>/dev/null
ls -la $W >> $R/write.txt
for m in tp ep; do
  (( $(date +%s) - t0 < 540 )) || continue
  CUDA_VISIBLE_DEVICES=0,1 timeout 100 mpirun -np 2 --bind-to none build/bin/tachyon bench load --model $W/qwen3_235b_a22b_22l.h5 --moe-parallel $m --evict-cache --json $R/load-2-$m.json > $R/load-2-$m.txt 2>&1
  echo "load 2 ranks $m rc $?"; tail -4 $R/load-2-$m.txt
done
echo "total $(( $(date +%s) - t0 )) s"
