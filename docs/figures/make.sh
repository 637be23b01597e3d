#!/usr/bin/env bash
# Redraws the figures of docs/data-parallel.md: step 1 of dp and ddp on cpu:2
# and cpu:4, the default and --textbook, one thread per device, each a PNG and
# its summary JSON (tools/plot_trace.py). Run from the repository root with a
# built cudp:  docs/figures/make.sh build/cudp
# `docs/figures/make.sh --list` prints each figure's name and its `cudp train`
# flags, one a line, and runs nothing: the ctest docs.figures
# (tests/tools/figures_test.py) reruns those and compares the fresh summaries
# with the committed ones, times aside, so a change that moves a copy, an edge
# or a lane's order must come with redrawn figures.
# The times are this machine's; on fewer cores than devices they show the
# scheduler too (cudp train warns, docs/data-parallel.md says how to read it).
set -euo pipefail
cudp=${1:?usage: docs/figures/make.sh PATH/TO/cudp | --list}

figures() {
  for n in 2 4; do
    for mode in dp ddp; do
      for variant in default textbook; do
        flags="--devices cpu:$n --threads 1 --parallel $mode"
        [ "$variant" = textbook ] && flags+=" --textbook"
        echo "$mode-cpu$n-$variant $flags --steps 3 --test-size 32"
      done
    done
  done
}

if [ "$cudp" = --list ]; then
  figures
  exit 0
fi
machine=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
traces=$(mktemp -d)
trap 'rm -rf "$traces"' EXIT
figures | while read -r name flags; do
  # shellcheck disable=SC2086  # the flags are words without spaces
  "$cudp" train $flags --trace "$traces/$name.json" </dev/null >/dev/null 2>&1
  /usr/bin/python3 tools/plot_trace.py "$traces/$name.json" -o "docs/figures/$name.png" </dev/null \
    --title "cudp train ${flags% --steps*}: step 1 ($(nproc) vCPUs, $machine, $(date +%F))"
done
