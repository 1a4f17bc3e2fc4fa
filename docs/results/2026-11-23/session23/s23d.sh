#!/usr/bin/env bash
# s23d (2 x H200): the committed code (9845208) timed on the shape: MiMo slice on 2 GPUs, tp, 1 x 1 and 1 x 9,
# three rounds; then a rank-0 kernel timeline of the same; Qwen3-30B-A3B on one GPU, two rounds.
set -u
source .devdeps/on-device.sh
R=/tmp/s23d; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s23d.tgz -C /tmp s23d' EXIT
left(){ (( $(date +%s) - t0 < $1 )); }
nvidia-smi -L > $R/gpus.txt
git log -1 --format='%H %s' > $R/commit.txt 2>/dev/null || true
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 32 --target tachyon > $R/build.log 2>&1 || { tail -30 $R/build.log; exit 1; }
echo "build $(( $(date +%s) - t0 )) s"
row(){ grep -E '^\| (mimo|qwen)' "$1" | cut -d'|' -f5,7,14 | tr -s ' ' | tr '\n' ' '; }
for r in 1 2 3; do
  left 400 || continue
  CUDA_VISIBLE_DEVICES=0,1 mpirun -np 2 --bind-to none build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 30 > $R/step2-mimo-r$r.txt 2>&1
  echo "2gpu r$r mimo: $(row $R/step2-mimo-r$r.txt)"
done
left 450 && { CUDA_VISIBLE_DEVICES=0,1 mpirun -np 2 --bind-to none build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1 --tokens 1,9 --reps 20 --timeline $R/timeline2-mimo.json > $R/timeline2-mimo.txt 2>&1; echo "timeline: $(row $R/timeline2-mimo.txt)"; }
for r in 1 2; do
  left 520 || continue
  CUDA_VISIBLE_DEVICES=0 build/bin/tachyon bench step --model qwen3-30b-a3b --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step1-qwen-r$r.txt 2>&1 &
  CUDA_VISIBLE_DEVICES=1 build/bin/tachyon bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 > $R/step1-mimo-r$r.txt 2>&1
  wait
  echo "1gpu r$r qwen: $(row $R/step1-qwen-r$r.txt)"
  echo "1gpu r$r mimo: $(row $R/step1-mimo-r$r.txt)"
done
echo "total $(( $(date +%s) - t0 )) s"
