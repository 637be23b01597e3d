#!/usr/bin/env bash
# Configures and builds cudp into BUILD_DIR (default: build), Release.
# Extra arguments go to CMake's configure step (e.g. -DCUDP_CUDA=OFF).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
tools/setup.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
