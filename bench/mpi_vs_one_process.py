#!/usr/bin/python3
"""Multi-process ddp against one process, the same devices, in one run.

    /usr/bin/python3 bench/mpi_vs_one_process.py --cudp build/cudp [--pairs 12] [--steps 60]

Runs, alternating, `mpirun -np 2 cudp train --devices cpu:1` and
`cudp train --parallel ddp --devices cpu:2`, one thread per device, the same
global batch and steps, and prints each pair's training samples/s (the progress
lines' figure, after the first window: start-up and the first step's broadcast
are left out), then the median ratio multi-process / one process with its
spread. The goal of docs/multi-process.md: at least 0.90. Both sides compute the
same bits (ctest mpi.bits), so only the speed differs.
"""
import argparse
import os
import statistics
import subprocess
import sys


def samples_per_s(stdout):
    rates = [float(line.split("samples/s")[0].split()[-1])
             for line in stdout.splitlines() if line.startswith("step")]
    if len(rates) < 2:
        raise SystemExit("expected at least two progress lines, found:\n" + stdout)
    return statistics.mean(rates[1:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cudp", required=True)
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--pairs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    common = [os.path.abspath(args.cudp), "train", "--threads", "1", "--steps", str(args.steps),
              "--batch", str(args.batch), "--log-every", str(args.steps // 4), "--test-size", "1"]
    many = [args.mpirun, "-np", "2", "--oversubscribe"] + common + ["--devices", "cpu:1"]
    one = common + ["--parallel", "ddp", "--devices", "cpu:2"]
    ratios = []
    for i in range(args.pairs):
        rate = {}
        for name, cmd in (("mpi", many), ("one", one)) if i % 2 == 0 else (("one", one),
                                                                             ("mpi", many)):
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode != 0:
                raise SystemExit(" ".join(cmd) + " failed:\n" + p.stderr)
            rate[name] = samples_per_s(p.stdout)
        ratios.append(rate["mpi"] / rate["one"])
        print("pair %2d  one process %7.1f samples/s  mpirun -np 2 %7.1f samples/s  ratio %.3f" %
              (i + 1, rate["one"], rate["mpi"], ratios[-1]), flush=True)
    print("median ratio %.3f (min %.3f, max %.3f) over %d pairs" %
          (statistics.median(ratios), min(ratios), max(ratios), len(ratios)))


if __name__ == "__main__":
    sys.exit(main())
