#!/usr/bin/env bash
# Installs what cudp needs to build and test, from Debian's packages, when it is
# missing: CMake, g++, GoogleTest, Google Benchmark, ccache, zlib, Open MPI
# (multi-process training, `mpirun -np N cudp train`),
# dataset-fashion-mnist (the real data of `--data fashion-mnist` and of the
# `slow` test), python3-matplotlib (tools/plot_trace.py and its `cpu` test
# draw a trace with /usr/bin/python3), and clang-14 with libclang-rt-14-dev
# (libFuzzer and the sanitizer runtimes) for the fuzz build (fuzz/README.md,
# .ci/run's last phase). `--with-torch` adds python3-torch and numpy: the
# `torch` tests (PyTorch parity, the Python tools) are registered only when
# they import; .ci/run asks for them. The CUDA toolkit is
# optional (found at /usr/local/cuda or on PATH); without it cudp builds its
# CPU backend only.
set -euo pipefail

packages=(cmake make g++ libgtest-dev libgmock-dev libbenchmark-dev ccache zlib1g-dev python3
  python3-matplotlib dataset-fashion-mnist openmpi-bin libopenmpi-dev clang-14 libclang-rt-14-dev)
if [ "${1:-}" = "--with-torch" ]; then
  packages+=(python3-torch python3-numpy)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
