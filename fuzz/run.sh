#!/usr/bin/env bash
# Runs each fuzzer for SECONDS over a temporary copy of its committed corpus
# (fuzz/corpus/<name>/ is never written), and fails if any fuzzer reports a
# crash, a sanitizer error, a leak, a timeout (-timeout, per input), an
# allocation over -malloc_limit_mb or a memory blow-up (-rss_limit_mb).
#
#   fuzz/run.sh [BUILD_DIR [SECONDS [NAME...]]]   defaults: build-fuzz 30, every fuzzer
#
# BUILD_DIR is a -DCUDP_FUZZ=ON build (fuzz/README.md). A finding is saved as
# BUILD_DIR/fuzz-findings/<name>/crash-* (or leak-, timeout-, oom-); the new
# inputs that grew coverage are dropped with the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${2:-30}
shift $(( $# < 2 ? $# : 2 ))
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(idx gzip cifar safetensors device_spec flags)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for name in "${names[@]}"; do
  fuzzer=$build/fuzz/fuzz_$name
  [ -x "$fuzzer" ] || { echo "fuzz/run.sh: $fuzzer not built (cmake --build $build --target fuzzers)"; exit 2; }
  findings=$build/fuzz-findings/$name
  mkdir -p "$work/$name" "$findings"
  cp -r "fuzz/corpus/$name/." "$work/$name/"
  echo "== fuzz_$name: ${seconds} s over a copy of fuzz/corpus/$name ($(ls "$work/$name" | wc -l) files)"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
      -print_final_stats=1 -artifact_prefix="$findings/" "$work/$name" >"$work/$name.log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$work/$name.log" | tr '\n' ' '
    echo
  else
    tail -60 "$work/$name.log"
    echo "fuzz_$name: FOUND SOMETHING; the input is in $findings/ (fuzz/README.md: what to do)"
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: findings from ${failed[*]}"
  exit 1
fi
echo "fuzz/run.sh: ${#names[@]} fuzzers, ${seconds} s each, nothing found"
