#!/usr/bin/env bash
# s45g (one GPU): --batch-invariant's expert-GEMM choices, three variants against the committed ones (trees patched here):
# down on the 16-warp configuration (downW16), gate_up's K split at most 4 (gateS4), both. Qwen3-30B-A3B and the MiMo slice.
set -u
source .devdeps/on-device.sh
R=/tmp/s45g; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s45g.tgz -C /tmp s45g' EXIT
cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || exit 1
for v in downW16 gateS4 both; do
  mkdir -p /tmp/t-$v && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/t-$v && tar xf -)
  python3 - /tmp/t-$v/kernels/cuda/moe_gemm_launch.cuh $v <<'PY'
import sys
p, v = sys.argv[1], sys.argv[2]
s = open(p).read()
if v in ("downW16", "both"):
    a = "const bool many_pairs = !batch_invariant() && (down ? p.n_pairs >= 256 : p.n_pairs > 256);"
    assert a in s; s = s.replace(a, "const bool many_pairs = batch_invariant() ? down : (down ? p.n_pairs >= 256 : p.n_pairs > 256);")
if v in ("gateS4", "both"):
    a = "if (batch_invariant()) p.fixed_split = invariant_k_split(W, D, (p.nb + 3) / 4);"
    assert a in s
    s = s.replace(a, "if (batch_invariant()) { const int s_ = invariant_k_split(W, D, (p.nb + 3) / 4); p.fixed_split = P == Proj::GateUp && s_ > 4 ? 4 : s_; }")
open(p, "w").write(s)
PY
  (cd /tmp/t-$v && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > /dev/null 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-$v.log 2>&1) || { echo "build $v failed"; tail -20 $R/build-$v.log; }
done
echo "builds $(( $(date +%s) - t0 )) s"
for round in 1 2; do
for v in base downW16 gateS4 both; do
  B=build/bin/tachyon; [ $v = base ] || B=/tmp/t-$v/build/bin/tachyon
  for m in qwen3-30b-a3b mimo-v2.5-pro-slice; do
    timeout 100 $B bench step --model $m --moe-parallel tp --seqs 1,8 --tokens 1,9 --reps 20 --batch-invariant > $R/step-$m-$v-r$round.txt 2>&1
    echo "r$round $v $m: $(grep "^| ${m%%-*}" $R/step-$m-$v-r$round.txt | awk -F'|' '{printf "%s=%s ", $5, $7}')"
  done
done
done
echo "total $(( $(date +%s) - t0 )) s"
