#!/usr/bin/env bash
# s24d (2 x H200): the loader reading every tensor into the same host buffers (new) against 11ea954 (old), same call:
# a random Qwen3-235B-A22B-shaped checkpoint cut to 10 layers (~15 GB), 2 ranks (tp) and 1 rank, page cache dropped
# first (--evict-cache: from disk) and kept (from the page cache), rounds interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s24d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s24d.tgz -C /tmp s24d' EXIT
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 16 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
W=/tmp/load; mkdir -p $W
sed 's/"num_hidden_layers": 94/"num_hidden_layers": 10/' scripts/bench/configs/qwen3_235b_a22b.json > $W/q10.json
timeout 300 scripts/bench/load_test.sh build/bin/tachyon $W $W/q10.json 0 > $R/write.txt 2>&1; echo "write rc $? $(cat $R/write.txt) at $(( $(date +%s) - t0 )) s"
F=$W/q10.h5
one(){ # name binary ranks extra
  local B=build/bin/tachyon; [[ $2 == old ]] && B=/tmp/old/build/bin/tachyon
  CUDA_VISIBLE_DEVICES=0,1 timeout 120 mpirun -np $3 --bind-to none $B bench load --model $F --moe-parallel tp $4 --json $R/$1.json > $R/$1.txt 2>&1
  echo "$1 rc $? $(grep 'all ranks' $R/$1.txt)"
}
for r in 1 2; do
  for v in old new; do one load2-cold-$v-r$r $v 2 --evict-cache; one load2-hot-$v-r$r $v 2 ""; done
done
for v in old new; do one load1-cold-$v $v 1 --evict-cache; one load1-hot-$v $v 1 ""; done
echo "total $(( $(date +%s) - t0 )) s"
