#!/usr/bin/env bash
# The README's second command: install what is missing, build, run every test.
# GPU tests (label gpu) skip with a reason on a machine without a GPU; ctest
# fails when no test ran at all.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build} tools/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --no-tests=error -j "$(nproc)"
