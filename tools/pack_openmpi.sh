#!/usr/bin/env bash
# tools/pack_openmpi.sh: copies Debian's Open MPI 4.1 (the one this machine
# runs `ctest -L mpi` with) into one relocatable folder, for a lent GPU
# machine that has no Open MPI and cannot install packages.
#
#   tools/pack_openmpi.sh [DEST]        (default build-gpu/openmpi, ignored by git)
#
# DEST keeps Debian's layout below the prefix, so that OPAL_PREFIX=DEST moves
# every directory Open MPI computes from it (ompi_info --path all: libdir
# lib/x86_64-linux-gnu/openmpi/lib, its plugins in openmpi3/, help files in
# share/openmpi). PMIx does not move: its few plugins (pcompress, prm) and help
# files stay at Debian's compiled-in paths, and where they are missing it prints
# one "couldn't open the help file" warning and runs (tried here with Debian's
# Open MPI and PMIx hidden by bind mounts, 2026-12-06: mpirun -np 2 matched
# one process bitwise).
#   DEST/bin          orterun (mpirun), orted
#   DEST/libs         every shared library they and the plugins load, glibc and
#                     libstdc++ left out (the GPU machine has them: cudp needs them)
#   DEST/env.sh       sets OPAL_PREFIX, PATH, LD_LIBRARY_PATH
# tools/gpu_check.sh's mpirun phase sources DEST/env.sh. The decision a reader
# would get wrong: the device tool carries at most 64 MiB in ALL, the build's
# executables included; this prints the folder's size (16.9 MiB measured,
# 2026-12-06) so the carry list can be checked against the limit.
set -euo pipefail
DEST=${1:-build-gpu/openmpi}
ARCH=x86_64-linux-gnu
SRC_LIB=/usr/lib/$ARCH
[ -x /usr/bin/orterun ] || { echo "pack_openmpi.sh: /usr/bin/orterun not found (apt-get install openmpi-bin)" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST/bin" "$DEST/libs" "$DEST/lib/$ARCH/openmpi/lib" "$DEST/share"
cp -L /usr/bin/orterun /usr/bin/orted "$DEST/bin/"
ln -s orterun "$DEST/bin/mpirun"
cp -rL "$SRC_LIB/openmpi/lib/openmpi3" "$DEST/lib/$ARCH/openmpi/lib/"
cp -rL /usr/share/openmpi "$DEST/share/"
# The shared libraries: ldd's closure of the binaries, libmpi and every plugin.
{
  ldd /usr/bin/orterun /usr/bin/orted "$SRC_LIB/libmpi.so.40" "$SRC_LIB"/openmpi/lib/openmpi3/*.so \
    2>/dev/null | awk '/=>/ && $3 ~ /^\// {print $3}'
  echo "$SRC_LIB/libmpi.so.40"
  echo "$SRC_LIB/libmpi_cxx.so.40"
} | sort -u | while read -r lib; do
  case $(basename "$lib") in
    libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | ld-linux* | libstdc++.so.* | libgcc_s.so.*) ;;
    *) [ -e "$lib" ] && cp -L "$lib" "$DEST/libs/" ;;
  esac
done
cat >"$DEST/env.sh" <<'ENV'
# Sourced by tools/gpu_check.sh: Debian's Open MPI from this folder (tools/pack_openmpi.sh).
OMPI_PACK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export OPAL_PREFIX=$OMPI_PACK
export PATH=$OMPI_PACK/bin:$PATH
export LD_LIBRARY_PATH=$OMPI_PACK/libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ENV
echo "pack_openmpi.sh: $DEST holds $(du -sb "$DEST" | cut -f1) bytes ($(du -sh "$DEST" | cut -f1)), $(find "$DEST" -type f | wc -l) files"
