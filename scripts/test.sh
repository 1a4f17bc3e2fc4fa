#!/usr/bin/env bash
# Sets up, builds and runs every test. GPU tests skip themselves where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# Open MPI refuses to run as root unless told; the CI machine runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir "${TACHYON_BUILD_DIR:-build}" --output-on-failure -j "${TACHYON_TEST_JOBS:-2}"
