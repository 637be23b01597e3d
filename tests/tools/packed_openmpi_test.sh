#!/usr/bin/env bash
# ctest mpi.packed_openmpi: tools/pack_openmpi.sh's folder runs a job on its own
# (OPAL_PREFIX, LD_LIBRARY_PATH), and tools/gpu_mpirun_check.py, the mpirun phase
# of tools/gpu_check.sh, gives its verdict: here on CPU devices (--kind cpu,
# mpirun -np 2 cpu:1 against one process on cpu:2), on the GPU machine on cuda:0.
#   tests/tools/packed_openmpi_test.sh CUDP
set -euo pipefail
CUDP=$1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d /tmp/packed_openmpi.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
bash "$ROOT/tools/pack_openmpi.sh" "$TMP/openmpi"
out=$(/usr/bin/python3 "$ROOT/tools/gpu_mpirun_check.py" --cudp "$CUDP" --openmpi "$TMP/openmpi" \
  --work "$TMP/work" --kind cpu --steps 4 2>&1) || { echo "$out"; echo "FAIL: the check exited non-zero"; exit 1; }
verdict=$(echo "$out" | grep '^mpirun phase: ' | tail -1)
echo "$verdict"
case $verdict in
  "mpirun phase: bitwise equal: "*) echo "ok" ;;
  *) echo "$out"; echo "FAIL: expected 'mpirun phase: bitwise equal', found '$verdict'"; exit 1 ;;
esac
# Without the folder the phase says so plainly and does not pass.
set +e
missing=$(/usr/bin/python3 "$ROOT/tools/gpu_mpirun_check.py" --cudp "$CUDP" --openmpi "$TMP/none" --work "$TMP/w2" 2>&1)
rc=$?
set -e
[ "$rc" = 3 ] && [[ $missing == "mpirun phase: unavailable ("* ]] || { echo "FAIL: rc $rc, '$missing'"; exit 1; }
echo "ok   unavailable without the folder (exit 3)"
