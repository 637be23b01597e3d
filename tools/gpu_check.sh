#!/usr/bin/env bash
# tools/gpu_check.sh: the one script for a lent GPU (docs/design.md, "When a GPU is lent").
#
#   tools/gpu_check.sh BUILD_DIR [--full] [--dry-run]
#
# Runs ON the GPU machine, from the repository root, over a build folder made
# elsewhere (Release, sm_90, -lineinfo). In order, each phase under `timeout`
# and inside one time budget (default mode 220 s, so that it ends under 4
# minutes on an H100 and a rerun fits the 15-minute lease; --full 540 s):
#   card       nvidia-smi: name, driver, memory
#   tests      BUILD_DIR/tests/test_cuda --gtest_output=json (not ctest: the
#              folder lands at another path, and ctest's paths are absolute)
#   tests_parallel  BUILD_DIR/tests/test_parallel_cuda: peer copies, collectives,
#              dp and ddp on logical devices of one GPU, the tree-edge bandwidth
#   tests_<x>  every other suite labelled gpu (test_<x>), as listed in
#              BUILD_DIR/tests/gpu_suites.txt, which CMake writes from the labels
#              (carry it); without the file only the two above run, and the
#              log says so. TODO: those suites run outside compute-sanitizer for
#              now (the sanitizer phases cover test_cuda, where the kernel tests live)
#   bench      BUILD_DIR/bench/bench_kernels_cuda, JSON out (short min_time;
#              --full: longer, 3 repetitions, medians); GFLOP/s rows carry pct_peak
#   baselines  bench/baselines/torch_gpu_baselines.py (python3 there has torch)
#   plot       bench/plot.py: % of baseline per kernel, a PNG (needs matplotlib)
#   train      BUILD_DIR/cudp train --devices cuda:0 --steps 50 (and 30 steps with
#              --math tf32: the tensor-core kernels in a real step, and 50 with
#              --cuda-graph on: the step replayed as one graph), and the first
#              5 steps' losses on cpu and cuda:0 side by side; dp and ddp on
#              four logical devices of the GPU (cuda:0,0,0,0), 30 steps each;
#              the README's real-data run (--data fashion-mnist, 10 epochs) on
#              cuda:0 when the IDX files are there (GPU_CHECK_DATA, default
#              Debian's /usr/share/datasets/fashion-mnist; carry a copy)
#   mpirun     tools/gpu_mpirun_check.py: `mpirun -np 2 cudp train --devices
#              cuda:0 --steps 20` (two ranks sharing GPU 0, buckets staged
#              through pinned host memory) against one process on cuda:0,0,
#              tensors bitwise; Open MPI from GPU_CHECK_OPENMPI (default
#              BUILD_DIR/openmpi, made here by tools/pack_openmpi.sh, ~17 MiB);
#              without it the phase prints "mpirun phase: unavailable (...)"
#   racecheck, synccheck, memcheck, memcheck_graph
#              compute-sanitizer over test_cuda: racecheck and synccheck on the
#              shared-memory kernels' tests, then memcheck on all of them. They
#              come last and share the time left; "unavailable", "skipped" or
#              "timed out" is never "passed". Every timing (bench, baselines,
#              train) runs before them and never under a sanitizer.
# then tools/gpu_report.py merges everything into report.md.
#
# Output: $OUT (the device tool's folder that comes back; /tmp/gpu_check_out
# when OUT is unset), 8 files, the most that come back: report.md, log.txt,
# tests_cuda.json, bench_cuda.json, baselines.json, bench_vs_baseline.png,
# sanitizer.log, train.log. A missing executable, a crash or a timeout is
# written in the report, never skipped.
# Exit status: 0 when every phase passed, 1 when one did not, 2 on bad usage.
#
# Prepare here (no GPU needed), then one device call:
#   cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90
#   cmake --build build-gpu -j2 --target test_cuda test_parallel_cuda bench_kernels_cuda cudp
#   tools/pack_openmpi.sh build-gpu/openmpi   (16.9 MiB; cudp and the parallel tests link
#       libmpi when built with MPI, so carry it: "build-gpu/openmpi" in the list; the 64 MiB
#       carry limit is for everything: the list below with it was 40.0 MiB on 2026-12-06)
#   device run: command "bash tools/gpu_check.sh build-gpu", timeout_s 300,
#               carry ["build-gpu/tests/test_cuda", "build-gpu/tests/test_parallel_cuda", "build-gpu/cudp",
#                      "build-gpu/bench/bench_kernels_cuda", "build-gpu/bench/libbenchmark.so.1debian",
#                      "build-gpu/openmpi", "build-gpu/tests/gpu_suites.txt"]
#   (a further gpu suite in gpu_suites.txt needs its executable carried too: 8 paths at most,
#   so carry "build-gpu/tests" whole, or drop openmpi, when there is one)
# Environment: GPU_CHECK_BUDGET_S, GPU_CHECK_DATA, PYTHON (python3), BENCH_FILTER (a
# --benchmark_filter regex), MEMCHECK_FILTER and SHMEM_FILTER (gtest filters).
set -uo pipefail  # not -e: every phase runs and is reported

usage() { echo "usage: tools/gpu_check.sh BUILD_DIR [--full] [--dry-run]" >&2; exit 2; }
[ $# -ge 1 ] || usage
BUILD=${1%/}
shift
MODE=default
DRY=0
for arg in "$@"; do
  case $arg in
    --full) MODE=full ;;
    --dry-run) DRY=1 ;;
    *) echo "gpu_check.sh: unknown argument '$arg'" >&2; usage ;;
  esac
done
[ -d "$BUILD" ] || { echo "gpu_check.sh: build folder '$BUILD' not found (run from the repo root)" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
OUT=${OUT:-/tmp/gpu_check_out}
[ "$DRY" = 1 ] || mkdir -p "$OUT" || exit 2
WORK=$(mktemp -d /tmp/gpu_check.XXXXXX)
PYTHON=${PYTHON:-python3}
DATA=${GPU_CHECK_DATA:-/usr/share/datasets/fashion-mnist}
OPENMPI=${GPU_CHECK_OPENMPI:-$BUILD/openmpi}  # tools/pack_openmpi.sh's folder, carried
# A build with MPI (CUDP_MPI, the default where Open MPI is installed) links libmpi.so.40
# into cudp and the parallel tests, and the GPU image has none: every phase loads it from
# the carried folder. Without the folder, configure build-gpu with -DCUDP_MPI=OFF.
[ -d "$OPENMPI/libs" ] && export LD_LIBRARY_PATH=$(cd "$OPENMPI/libs" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
# All of test_cuda under memcheck; the shared-memory kernels' own tests under
# racecheck and synccheck (GEMM v2-v6, conv implicit GEMM, the tf32 GEMM and conv,
# cross-entropy, bias_grad), on a few shapes each: racecheck instruments every shared-memory
# access and runs about 40x slower (the full edge-size GEMM test did not finish
# in 50 s on an H100, 2026-11-26).
MEMCHECK_FILTER=${MEMCHECK_FILTER:-*}
SHMEM_FILTER=${SHMEM_FILTER:-CudaGemm.FewEdgeShapesEveryLayoutAndVersion:CudaGemm.AlphaBetaExact:CudaConv2d.FewShapesExact:CudaCrossEntropy.MatchesCpuOnShapesReductionsAndIgnoredRows:CudaElementwise.BiasAddBitwiseAndBiasGrad:CudaTf32.FewEdgeShapesEveryLayout:CudaTf32.GemmRoundsEachOperandAsCvtRna:CudaConvTf32.ExactOnSmallIntegersOddShapes}
if [ "$MODE" = full ]; then
  BUDGET=${GPU_CHECK_BUDGET_S:-540}
  BENCH_ARGS=(--benchmark_min_time=0.5 --benchmark_repetitions=3 --benchmark_display_aggregates_only=true)
  BASELINE_REPEATS=100
  CAP_BENCH=330 CAP_BASELINES=150 CAP_SANITIZER=150
else
  BUDGET=${GPU_CHECK_BUDGET_S:-220}
  BENCH_ARGS=(--benchmark_min_time=0.05)  # Google Benchmark 1.7 takes seconds as a plain number
  BASELINE_REPEATS=20
  CAP_BENCH=120 CAP_BASELINES=90 CAP_SANITIZER=75
fi
[ -n "${BENCH_FILTER:-}" ] && BENCH_ARGS+=("--benchmark_filter=$BENCH_FILTER")
START=$(date +%s)
PHASES=$WORK/phases.tsv
: >"$PHASES"

# phase NAME CAP_SECONDS -- COMMAND...: runs COMMAND under timeout, output to
# $WORK/NAME.log (and the console), and appends "name status rc seconds limit
# detail" to phases.tsv. The limit is the cap or the budget left, if smaller.
phase() {
  local name=$1 cap=$2
  shift 3
  local left=$((START + BUDGET - $(date +%s)))
  local limit=$((cap < left ? cap : left))
  local log=$WORK/$name.log
  if [ "$DRY" = 1 ]; then
    printf '%-10s timeout %4ss: %s\n' "$name" "$cap" "$*"
    return 0
  fi
  local arg missing=""
  command -v "$1" >/dev/null 2>&1 || missing=$1
  for arg in "$@"; do  # the build's executables that the command runs, under a sanitizer too
    case $arg in "$BUILD"/*) [ -x "$arg" ] || missing=$arg ;; esac
  done
  if [ -n "$missing" ]; then
    echo "=== $name: MISSING: $missing is not there"
    printf '%s\tmissing\t-\t0\t%s\t%s not found\n' "$name" "$limit" "$missing" >>"$PHASES"
    return 0
  fi
  if [ "$limit" -lt 5 ]; then
    echo "=== $name: SKIPPED: the ${BUDGET}s budget is spent"
    printf '%s\tskipped\t-\t0\t%s\tout of time budget\n' "$name" "$limit" >>"$PHASES"
    return 0
  fi
  echo "=== $name (timeout ${limit}s): $*"
  local t0 rc status
  t0=$(date +%s)
  timeout -k 5 "$limit" "$@" >"$log" 2>&1
  rc=$?
  cat "$log"
  case $rc in
    0) status=ok ;;
    124 | 137) status=timeout ;;
    *) status=failed ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\t\n' "$name" "$status" "$rc" "$(($(date +%s) - t0))" "$limit" >>"$PHASES"
  echo "=== $name: $status (rc=$rc, $(($(date +%s) - t0)) s)"
}

# The suites labelled gpu (tests/CMakeLists.txt writes the list) other than the two
# run above; a suite listed but not carried becomes a "missing" phase.
SUITES_FILE=$BUILD/tests/gpu_suites.txt
extra_gpu_suites() {
  [ -f "$SUITES_FILE" ] || return 0
  grep -v -x -e test_cuda -e test_parallel_cuda -e '' "$SUITES_FILE"
}

main() {
  echo "gpu_check.sh: build $BUILD, mode $MODE, budget ${BUDGET}s, out $OUT, $(date -u +%FT%TZ)"
  [ -f "$SUITES_FILE" ] || echo "gpu_check.sh: NOTE: $SUITES_FILE not there (not carried?): of the gpu" \
    "suites only test_cuda and test_parallel_cuda run"
  phase card 20 -- nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  [ "$DRY" = 1 ] || cp "$WORK/card.log" "$WORK/card.csv" 2>/dev/null
  phase tests 90 -- "$BUILD/tests/test_cuda" "--gtest_output=json:$OUT/tests_cuda.json"
  phase tests_parallel 60 -- "$BUILD/tests/test_parallel_cuda"
  local suite
  for suite in $(extra_gpu_suites); do
    phase "tests_${suite#test_}" 60 -- "$BUILD/tests/$suite"
  done
  phase bench "$CAP_BENCH" -- "$BUILD/bench/bench_kernels_cuda" "${BENCH_ARGS[@]}" \
    "--benchmark_out=$OUT/bench_cuda.json" --benchmark_out_format=json --benchmark_counters_tabular=true
  phase baselines "$CAP_BASELINES" -- "$PYTHON" bench/baselines/torch_gpu_baselines.py \
    --out "$OUT/baselines.json" --repeats "$BASELINE_REPEATS"
  phase plot 30 -- "$PYTHON" bench/plot.py "$OUT/bench_cuda.json" "$OUT/baselines.json" \
    -o "$OUT/bench_vs_baseline.png"
  phase train_cuda 45 -- "$BUILD/cudp" train --devices cuda:0 --steps 50 --log-every 10
  phase train_tf32 30 -- "$BUILD/cudp" train --devices cuda:0 --math tf32 --steps 30 --log-every 10 \
    --test-size 0
  phase train_graph 30 -- "$BUILD/cudp" train --devices cuda:0 --cuda-graph on --steps 50 \
    --log-every 10 --test-size 0
  phase first_steps_cpu 40 -- "$BUILD/cudp" train --devices cpu --steps 5 --log-every 1 --test-size 0
  phase first_steps_cuda 30 -- "$BUILD/cudp" train --devices cuda:0 --steps 5 --log-every 1 --test-size 0
  phase train_dp 30 -- "$BUILD/cudp" train --devices cuda:0,0,0,0 --parallel dp --steps 30 \
    --log-every 10 --test-size 0
  phase train_ddp 30 -- "$BUILD/cudp" train --devices cuda:0,0,0,0 --parallel ddp --check-replicas \
    --steps 30 --log-every 10 --test-size 0
  # Two ranks sharing cuda:0 under mpirun against one process on cuda:0,0, bitwise; the
  # Open MPI that tools/pack_openmpi.sh copied (the GPU image has none): "unavailable" without it.
  phase mpirun 60 -- "$PYTHON" tools/gpu_mpirun_check.py --cudp "$BUILD/cudp" \
    --openmpi "$OPENMPI" --work "$WORK/mpirun_files" --steps 20
  if [ -f "$DATA/train-images-idx3-ubyte.gz" ]; then
    phase train_fmnist 60 -- "$BUILD/cudp" train --data "fashion-mnist:$DATA" --devices cuda:0 \
      --log-every 2000
  else
    echo "=== train_fmnist: MISSING: no fashion-mnist IDX files in $DATA"
    [ "$DRY" = 1 ] || printf 'train_fmnist\tmissing\t-\t0\t60\tno IDX files in %s\n' "$DATA" >>"$PHASES"
  fi
  phase racecheck 60 -- "$SANITIZER" --tool racecheck --print-limit 20 \
    "$BUILD/tests/test_cuda" "--gtest_filter=$SHMEM_FILTER"
  phase synccheck 35 -- "$SANITIZER" --tool synccheck --print-limit 20 \
    "$BUILD/tests/test_cuda" "--gtest_filter=$SHMEM_FILTER"
  phase memcheck "$CAP_SANITIZER" -- "$SANITIZER" --tool memcheck --leak-check no --print-limit 20 \
    "$BUILD/tests/test_cuda" "--gtest_filter=$MEMCHECK_FILTER"
  # The graphed step (replays against eager, a NaN and a bad label through a replay).
  phase memcheck_graph 60 -- "$SANITIZER" --tool memcheck --leak-check no --print-limit 20 \
    "$BUILD/tests/test_parallel_cuda" "--gtest_filter=CudaGraph.*"
  [ "$DRY" = 1 ] && { echo "report     tools/gpu_report.py --work <tmp> --out-dir $OUT"; return 0; }

  # Missing test or sanitizer executables make a phase "missing" above; say which.
  for f in "$BUILD/tests/test_cuda" "$BUILD/tests/test_parallel_cuda" "$BUILD/bench/bench_kernels_cuda" \
    "$BUILD/cudp" $(extra_gpu_suites | sed "s|^|$BUILD/tests/|"); do
    [ -x "$f" ] || echo "gpu_check.sh: MISSING executable $f (not built, or not carried)"
  done
  for tool in memcheck racecheck synccheck memcheck_graph; do
    [ -f "$WORK/$tool.log" ] && { echo "===== compute-sanitizer --tool $tool"; cat "$WORK/$tool.log"; }
  done >"$OUT/sanitizer.log"
  for run in train_cuda train_tf32 train_graph first_steps_cpu first_steps_cuda train_dp train_ddp mpirun train_fmnist; do
    [ -f "$WORK/$run.log" ] && { echo "===== $run"; cat "$WORK/$run.log"; }
  done >"$OUT/train.log"
  echo "=== report"
  timeout 60 "$PYTHON" tools/gpu_report.py --work "$WORK" --out-dir "$OUT" --build "$BUILD" \
    --mode "$MODE" --budget "$BUDGET" --memcheck-filter "$MEMCHECK_FILTER" --shmem-filter "$SHMEM_FILTER" ||
    echo "gpu_check.sh: REPORT FAILED: tools/gpu_report.py exited $? (the raw files are in $OUT)"
  echo "=== files in $OUT ($(ls -1 "$OUT" | wc -l); at most 8 come back):"
  ls -l "$OUT"
  echo "gpu_check.sh: done in $(($(date +%s) - START)) s"
  ! grep -qvP '^\S+\tok\t' "$PHASES"  # exit 0 only when every phase was ok
}

if [ "$DRY" = 1 ]; then
  main
  rm -rf "$WORK"
  exit 0
fi
main 2>&1 | tee "$OUT/log.txt"
status=${PIPESTATUS[0]}
rm -rf "$WORK"
exit "$status"
