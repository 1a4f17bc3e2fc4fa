#!/usr/bin/env bash
# s24h (one H200): EXPERIMENT the loader's chunk-wise parallel reads (default) against H5Dread (XNOCHUNK=1), same binary:
# the 10-layer Qwen3-235B-A22B-shaped cut (15.4 GB), 1 rank onto the GPU, from disk and from the page cache, interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s24h; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s24h.tgz -C /tmp s24h' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon tachyon_tests > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"; nproc
build/tests/tachyon_tests -tc="hdf5: chunk-wise*,checkpoint*" > $R/tests.txt 2>&1; echo "tests rc $? $(tail -2 $R/tests.txt | head -1)"
W=/tmp/load; mkdir -p $W
sed 's/"num_hidden_layers": 94/"num_hidden_layers": 10/' scripts/bench/configs/qwen3_235b_a22b.json > $W/q10.json
timeout 300 scripts/bench/load_test.sh build/bin/tachyon $W $W/q10.json 0 > $R/write.txt 2>&1; echo "write rc $? $(cat $R/write.txt) at $(( $(date +%s) - t0 )) s"
F=$W/q10.h5
one(){ # name variant extra
  local E=""; [[ $2 == plain ]] && E="XNOCHUNK=1"
  env $E timeout 120 build/bin/tachyon bench load --model $F --moe-parallel tp $3 --json $R/$1.json > $R/$1.txt 2>&1
  echo "$1 rc $? $(grep 'all ranks' $R/$1.txt | cut -c1-70)"
}
for r in 1 2; do for v in chunk plain; do one load1-cold-$v-r$r $v --evict-cache; one load1-hot-$v-r$r $v ""; done; done
echo "total $(( $(date +%s) - t0 )) s"
