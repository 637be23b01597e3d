#!/usr/bin/env bash
# Redraws the figures of docs/data-parallel.md: step 1 of dp and ddp on cpu:2
# and cpu:4, the default and --textbook, one thread per device, each a PNG and
# its summary JSON (tools/plot_trace.py). Run from the repository root with a
# built cudp:  docs/figures/make.sh build/cudp
# The times are this machine's; on fewer cores than devices they show the
# scheduler too (cudp train warns, docs/data-parallel.md says how to read it).
set -euo pipefail
cudp=${1:?usage: docs/figures/make.sh PATH/TO/cudp}
machine=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
traces=$(mktemp -d)
trap 'rm -rf "$traces"' EXIT
for n in 2 4; do
  for mode in dp ddp; do
    for variant in default textbook; do
      flags=(--devices "cpu:$n" --threads 1 --parallel "$mode")
      [ "$variant" = textbook ] && flags+=(--textbook)
      name="$mode-cpu$n-$variant"
      "$cudp" train "${flags[@]}" --steps 3 --test-size 32 --log-every 10 \
        --trace "$traces/$name.json" >/dev/null 2>&1
      /usr/bin/python3 tools/plot_trace.py "$traces/$name.json" -o "docs/figures/$name.png" \
        --title "cudp train ${flags[*]}: step 1 ($(nproc) vCPUs, $machine, $(date +%F))"
    done
  done
done
