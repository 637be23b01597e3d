#!/usr/bin/env python3
"""The mpirun phase of tools/gpu_check.sh: two ranks sharing one GPU.

    python3 tools/gpu_mpirun_check.py --cudp BUILD/cudp --openmpi DIR --work WORK [--steps 20]

Trains `mpirun -np 2 cudp train --devices cuda:0` (each rank one logical
device on GPU 0: the Net route, buckets staged through pinned host memory in
chunks) and `cudp train --parallel ddp --devices cuda:0,0` (one process, the
same two logical devices), and compares the saved model and optimizer
tensors bitwise, as ctest mpi.bits does on CPU devices. DIR is the folder
tools/pack_openmpi.sh made here (the GPU machine has no Open MPI); without
it the phase prints "mpirun phase: unavailable (<reason>)" and exits 3.
The last line is the verdict the report shows. Standard library only.
"""
import argparse
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "apps"))
from same_bits import tensors  # noqa: E402  (the tests' one safetensors reader)

STEP = re.compile(r"step\s+(\d+)/(\d+)\s+loss\s+(\S+)")
FLAGS = "--input 3x16x16 --train-size 64 --test-size 0 --batch 16 --momentum 0.9 --seed 5 --log-every 5".split()


def unavailable(reason):
    print(f"mpirun phase: unavailable ({reason})")
    sys.exit(3)


def environment(pack):
    e = dict(os.environ)
    e["OPAL_PREFIX"] = pack
    e["PATH"] = os.path.join(pack, "bin") + os.pathsep + e.get("PATH", "")
    e["LD_LIBRARY_PATH"] = os.path.join(pack, "libs") + (":" + e["LD_LIBRARY_PATH"] if e.get("LD_LIBRARY_PATH") else "")
    e["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return e


def run(cmd, env, timeout):
    print("$ " + " ".join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"mpirun phase: FAILED (timed out after {timeout} s: {' '.join(cmd[:4])} ...)")
        sys.exit(1)
    print(p.stdout + p.stderr, flush=True)
    return p


def compare(a, b):
    """(tensors compared, names that differ), or None when a file is missing."""
    if not (os.path.exists(a) and os.path.exists(b)):
        return None
    ta, tb = tensors(a), tensors(b)
    return len(ta), sorted(n for n in set(ta) | set(tb) if ta.get(n) != tb.get(n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cudp", required=True)
    ap.add_argument("--openmpi", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--kind", choices=("cuda", "cpu"), default="cuda",
                    help="cpu: the same check on cpu:1 per rank against cpu:2 (to try the pack here)")
    args = ap.parse_args()
    rank_devices, one_devices = ("cuda:0", "cuda:0,0") if args.kind == "cuda" else ("cpu:1", "cpu:2")
    pack = os.path.abspath(args.openmpi)
    if not os.path.isfile(os.path.join(pack, "bin", "orterun")):
        unavailable(f"no Open MPI at {args.openmpi}: run tools/pack_openmpi.sh there and carry the folder "
                    "(about 17 MiB) with the build")
    if not os.access(args.cudp, os.X_OK):
        unavailable(f"{args.cudp} not found")
    os.makedirs(args.work, exist_ok=True)
    env = environment(pack)
    steps = ["--steps", str(args.steps)] + FLAGS
    one_path, two_path = os.path.join(args.work, "one.safetensors"), os.path.join(args.work, "two.safetensors")
    one = run([args.cudp, "train", "--parallel", "ddp", "--devices", one_devices] + steps + ["--save", one_path], env, 120)
    if one.returncode != 0:
        print(f"mpirun phase: FAILED (one process on {one_devices} exited {one.returncode})")
        sys.exit(1)
    mpirun = [os.path.join(pack, "bin", "mpirun"), "-np", "2", "--oversubscribe", "--mca", "pml", "ob1",
              "--mca", "btl", "self,vader,tcp"]
    two = run(mpirun + [args.cudp, "train", "--devices", rank_devices] + steps + ["--save", two_path], env, 180)
    if two.returncode != 0:
        if "cudp" not in two.stdout and "rank" not in two.stderr:  # mpirun itself did not start
            unavailable(f"the carried Open MPI did not start (exit {two.returncode}); its output is above")
        print(f"mpirun phase: FAILED (mpirun -np 2 on {rank_devices} exited {two.returncode})")
        sys.exit(1)
    verdicts = []
    for what, a, b in (("model", one_path, two_path),
                       ("optimizer", one_path.replace(".safetensors", ".optim.safetensors"),
                        two_path.replace(".safetensors", ".optim.safetensors"))):
        result = compare(a, b)
        if result is None:
            verdicts.append((what, None, []))
        else:
            verdicts.append((what, result[0], result[1]))
    losses_one, losses_two = STEP.findall(one.stdout), STEP.findall(two.stdout)
    same_losses = bool(losses_one) and losses_one == losses_two
    differ = [f"{w}: {len(d)} of {n} tensors differ (first {d[0]})" for w, n, d in verdicts if n is not None and d]
    missing = [w for w, n, _ in verdicts if n is None and w == "model"]
    if missing:
        print("mpirun phase: FAILED (no saved model to compare)")
        sys.exit(1)
    compared = ", ".join(f"{w} {n} tensors" for w, n, _ in verdicts if n is not None)
    if differ or not same_losses:
        print(f"mpirun phase: DIFFERENT from one process on {one_devices}: " + "; ".join(
            differ + ([] if same_losses else ["the printed losses differ"])))
        sys.exit(1)
    print(f"mpirun phase: bitwise equal: mpirun -np 2 --devices {rank_devices} = one process on {one_devices} "
          f"after {args.steps} steps ({compared}, {len(losses_one)} printed losses)")


if __name__ == "__main__":
    main()
