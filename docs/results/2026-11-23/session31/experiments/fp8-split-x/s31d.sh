#!/usr/bin/env bash
set -u
source .devdeps/on-device.sh
nvcc -O3 -arch=sm_90a -o /tmp/mma_rate .dev/mma_rate_probe.cu && /tmp/mma_rate | tee $OUT/mma-rate.txt; nvidia-smi --query-gpu=name,clocks.sm --format=csv | tee -a $OUT/mma-rate.txt
