#!/usr/bin/env bash
# Checks that the product links no vendor deep-learning library (cuBLAS, cuDNN,
# cuTENSOR, NCCL): `ldd` of each binary, and each link command CMake wrote.
#   tools/check_link.sh --binary build/cudp --link-file build/apps/CMakeFiles/cudp.dir/link.txt
# A missing binary or link file fails the check, so it cannot pass vacuously.
set -euo pipefail
pattern='cublas|cudnn|cutensor|nccl'
status=0
while [ $# -gt 0 ]; do
  kind=$1 path=${2:-}
  shift 2 || { echo "check_link: $kind needs a path"; exit 2; }
  if [ ! -e "$path" ]; then
    echo "check_link: missing $path"; exit 1
  fi
  case $kind in
    --binary) text=$(ldd "$path") ;;
    --link-file) text=$(cat "$path") ;;
    *) echo "check_link: unknown option $kind"; exit 2 ;;
  esac
  if grep -i -E -q "$pattern" <<<"$text"; then
    echo "FAIL $path names a vendor DL library:"; grep -i -E "$pattern" <<<"$text"; status=1
  else
    echo "ok   $path ($kind): no vendor DL library"
  fi
done
exit $status
