#!/usr/bin/env bash
# s44i (one GPU): the MiMo slice's 1 x 9 and 8 x 9 kernel timelines, old and new linear: which launches moved.
set -u
source .devdeps/on-device.sh
R=/tmp/s44i; mkdir -p $R
t0=$(date +%s)
trap 'tar czf $OUT/s44i.tgz -C /tmp s44i' EXIT
if [ ! -x build/bin/tachyon ]; then cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build.log 2>&1 || exit 1; fi
if [ ! -x /tmp/oldtree/build/bin/tachyon ]; then
  rm -rf /tmp/oldtree && mkdir /tmp/oldtree && tar cf - --exclude=./build --exclude=./.git . | (cd /tmp/oldtree && tar xf -)
  cp -r .dev/o44/kernels /tmp/oldtree/
  (cd /tmp/oldtree && cmake -S . -B build -G Ninja -DTACHYON_CUDA=ON -DCMAKE_BUILD_TYPE=Release > $R/cmake-old.log 2>&1 && cmake --build build -j 16 --target tachyon > $R/build-old.log 2>&1) || exit 1
fi
echo "builds $(( $(date +%s) - t0 )) s"
for v in old new; do
  B=build/bin/tachyon; [ $v = old ] && B=/tmp/oldtree/build/bin/tachyon
  timeout 120 $B bench step --model mimo-v2.5-pro-slice --moe-parallel tp --seqs 1,8 --tokens 9 --reps 20 --timeline $R/tl-$v.json > $R/tl-$v.txt 2>&1; echo "$v rc $?"
done
for v in old new; do echo "== $v"; grep -E "Kernel timeline|linear" $R/tl-$v.txt; done
echo "total $(( $(date +%s) - t0 )) s"
