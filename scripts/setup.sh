#!/usr/bin/env bash
# Installs what Tachyon needs to build and test on a fresh Debian 12 or Ubuntu 24.04 machine (apt).
# Idempotent: does nothing when everything is already installed. The CUDA toolkit and NCCL are used
# when present (the GPU and CI machines have them) and are not installed here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3
  libopenmpi-dev openmpi-bin          # one MPI rank per GPU
  libucx-dev                          # Open MPI / NCCL transport
  libhdf5-dev                         # checkpoints
  libboost-program-options-dev        # the command line
  nlohmann-json3-dev                  # JSON configs, requests, results
  libfmt-dev libspdlog-dev            # formatting and logging
  libpcre2-dev                        # tokenizer regexes (Unicode classes)
  doctest-dev                         # unit tests
  slurm-wlm munge                     # the Slurm test runs slurm/ scripts on a one-node cluster (tests/slurm)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
