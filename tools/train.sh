#!/usr/bin/env bash
# The README's first command: install what is missing, build, and train with
# `cudp train` (arguments are passed on: tools/train.sh --epochs 3).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build} tools/build.sh
exec "${BUILD_DIR:-build}/cudp" train "$@"
