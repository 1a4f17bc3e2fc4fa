#!/usr/bin/env bash
# s23e (one H200): moe_route's candidate ranking shared by G lanes a candidate; old = 9845208.
# Tests, then timelines and steps, new against old, interleaved.
set -u
source .devdeps/on-device.sh
R=/tmp/s23e; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s23e.tgz -C /tmp s23e' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
mkdir -p /tmp/old && tar xzf .dev/old.tgz -C /tmp/old
( cmake -S /tmp/old -B /tmp/old/build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build /tmp/old/build -j 16 --target tachyon > $R/build-old.log 2>&1; echo "old build rc $?" ) &
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
wait
echo "builds $(( $(date +%s) - t0 )) s"
build/tests/tachyon_gpu_tests -tc="gpu moe_route*,gpu moe pipeline*,*cuda step*" > $R/tests-gpu.txt 2>&1; echo "tests rc $? $(tail -2 $R/tests-gpu.txt | head -1)"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' '; }
for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    $B bench step --model $m --moe-parallel tp --seqs 1 --tokens 1,9 --reps 20 --timeline $R/tl-$m-$v.json > $R/tl-$m-$v.txt 2>&1
    echo "tl $v $m: $(row $R/tl-$m-$v.txt)"; grep moe_route_kernel $R/tl-$m-$v.txt
  done
done
rm -f $R/*.json
for r in 1 2; do for v in new old; do
  B=build/bin/tachyon; [[ $v == old ]] && B=/tmp/old/build/bin/tachyon
  for m in mimo-v2.5-pro-slice qwen3-30b-a3b; do
    left 540 || continue
    $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step-$m-$v-r$r.txt 2>&1
    echo "r$r $v $m: $(row $R/step-$m-$v-r$r.txt)"
  done
done; done
echo "total $(( $(date +%s) - t0 )) s"
