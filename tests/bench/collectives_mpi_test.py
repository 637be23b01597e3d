#!/usr/bin/python3
"""bench_collectives_mpi at small sizes, alone and under `mpirun -np 2`, and its plot.

    /usr/bin/python3 tests/bench/collectives_mpi_test.py --bench build/bench/bench_collectives_mpi \
        --mpirun mpirun --plot bench/plot_collectives.py

Checks, each printed ok/FAIL:
  - mpirun -np 2 x cpu:1 with rank 0's iteration count (--iters=0) and -np 2 x
    cpu:2 with a fixed one finish (a count the ranks disagreed on would hang:
    the timeout fails it) and write JSON with the inter-process tree, ring and
    allreduce, every size from 4 KiB by 4 to the maximum, count = size/4,
    times > 0, algbw = size/time exactly and busbw = algbw * 2(n-1)/n exactly
    (n = 4 makes the factor 1.5, not the 1 of two devices);
  - one process over cpu:3 writes the in-process tree, star and ring the same way;
  - ranks started with different settings are refused, on every rank, in time;
  - plot_collectives.py draws a PNG from all three files and refuses a file
    that is not the benchmark's JSON, naming it.
Exit status 0 when every check holds.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

failures = []


def env():
    e = dict(os.environ)
    e["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return e


def run(cmd, timeout=180):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out after {timeout} s")


def check(ok, what, p=None, detail=""):
    print(("ok   " if ok else "FAIL ") + what)
    if ok:
        return
    if detail:
        print("  " + detail)
    if p is not None:
        print("  command: " + " ".join(p.args))
        print("  exit " + str(p.returncode))
        print("  stdout: " + str(p.stdout)[-2000:])
        print("  stderr: " + str(p.stderr)[-2000:])
    failures.append(what)


def row_errors(doc, max_bytes):
    """What is wrong with the rows of one file ([] when nothing)."""
    n = doc["devices"]
    want_sizes = []
    size = 4096
    while size <= max_bytes:
        want_sizes.append(size)
        size *= 4
    errors = []
    for c in doc["configurations"]:
        sizes = [r["size"] for r in c["rows"]]
        if sizes != want_sizes:
            errors.append(f"{c['name']}: sizes {sizes}, expected {want_sizes}")
        for r in c["rows"]:
            where = f"{c['name']} at {r['size']} bytes"
            if r["count"] * 4 != r["size"]:
                errors.append(f"{where}: count {r['count']} is not size/4")
            if not (r["time_us"] > 0 and r["time_max_us"] >= r["time_us"] and r["iterations"] >= 1):
                errors.append(f"{where}: time {r['time_us']} us, slowest rank {r['time_max_us']} us, "
                              f"{r['iterations']} iterations")
                continue
            if r["algbw_GBps"] != r["size"] / r["time_us"] / 1e3:
                errors.append(f"{where}: algbw {r['algbw_GBps']} != size/time "
                              f"{r['size'] / r['time_us'] / 1e3}")
            if r["busbw_GBps"] != r["algbw_GBps"] * (2.0 * (n - 1) / n):
                errors.append(f"{where}: busbw {r['busbw_GBps']} != algbw * 2(n-1)/n with n={n}: "
                              f"{r['algbw_GBps'] * (2.0 * (n - 1) / n)}")
    return errors


def check_file(path, p, what, names, processes, devices, max_bytes):
    if p.returncode != 0 or not os.path.exists(path):
        return check(False, what + ": runs and writes JSON", p)
    with open(path) as f:
        doc = json.load(f)
    got = [c["name"] for c in doc["configurations"]]
    check(got == names, what + ": configurations " + ", ".join(names), p, f"found {got}")
    check((doc["processes"], doc["devices"]) == (processes, devices),
          f"{what}: {processes} processes, {devices} devices", p,
          f"found {doc['processes']} processes, {doc['devices']} devices")
    errors = row_errors(doc, max_bytes)
    check(not errors, what + ": every size, count, time > 0, algbw and busbw exact", p,
          "\n  ".join(errors[:10]))
    header = "size      count   iters    time(us)  algbw(GB/s)  busbw(GB/s)"
    first = [line.split()[:2] for line in p.stdout.splitlines()].count(["4096", "1024"])
    check(p.stdout.count(header) == len(names) and first == len(names),
          what + ": rank 0 alone prints nccl-tests' columns, once per configuration", p)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bench", required=True)
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("--plot", required=True)
    args = parser.parse_args()
    mpirun = [args.mpirun, "-np", "2", "--oversubscribe"]
    small = ["--max-bytes=64K"]
    with tempfile.TemporaryDirectory() as tmp:
        auto = os.path.join(tmp, "inter_auto.json")
        p = run(mpirun + [args.bench, "--devices=cpu:1", "--iters=0", "--min-time=0.02",
                          "--out=" + auto] + small)
        check_file(auto, p, "mpirun -np 2 x cpu:1, rank 0's count",
                   ["inter-process tree", "inter-process allreduce", "inter-process ring"], 2, 2, 64 << 10)

        fixed = os.path.join(tmp, "inter_fixed.json")
        p = run(mpirun + [args.bench, "--devices=cpu:2", "--iters=5", "--out=" + fixed] + small)
        check_file(fixed, p, "mpirun -np 2 x cpu:2, --iters=5",
                   ["inter-process tree", "inter-process allreduce", "inter-process ring"], 2, 4, 64 << 10)
        if os.path.exists(fixed):
            with open(fixed) as f:
                iters = {r["iterations"] for c in json.load(f)["configurations"] for r in c["rows"]}
            check(iters == {5}, "--iters=5 is every row's count", p, f"found {sorted(iters)}")

        alone = os.path.join(tmp, "in_process.json")
        p = run([args.bench, "--devices=cpu:3", "--iters=5", "--max-bytes=16K", "--out=" + alone])
        check_file(alone, p, "one process x cpu:3", ["in-process tree", "in-process star", "in-process ring"], 1, 3,
                   16 << 10)

        p = run([args.mpirun, "--oversubscribe", "-np", "1", args.bench, "--devices=cpu:1",
                 "--iters=5"] + small + [":", "-np", "1", args.bench, "--devices=cpu:1",
                                         "--iters=6"] + small, timeout=120)
        check(p.returncode not in (0, 124) and "settings differ from rank 0's" in p.stderr and
              "iters=5" in p.stderr and "iters=6" in p.stderr,
              "ranks with different --iters are refused, naming both, in time", p)

        png = os.path.join(tmp, "busbw.png")
        files = [f for f in (auto, fixed, alone) if os.path.exists(f)]
        p = run([sys.executable, args.plot] + files + ["-o", png])
        ok = p.returncode == 0 and os.path.exists(png) and len(files) == 3
        if ok:
            with open(png, "rb") as f:
                ok = f.read(8) == b"\x89PNG\r\n\x1a\n"
        check(ok, "plot_collectives.py draws a PNG of the three files", p)

        bad = os.path.join(tmp, "bad.json")
        with open(bad, "w") as f:
            f.write('{"benchmark": "bench_collectives_mpi", "configurations": []}')
        p = run([sys.executable, args.plot, bad, "-o", os.path.join(tmp, "bad.png")])
        check(p.returncode != 0 and bad in p.stderr and not os.path.exists(os.path.join(tmp, "bad.png")),
              "plot_collectives.py refuses a file without rows, naming it", p)
        p = run([sys.executable, args.plot, os.path.join(tmp, "missing.json")])
        check(p.returncode != 0 and "missing.json" in p.stderr,
              "plot_collectives.py refuses a missing file, naming it", p)
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("every check holds")


if __name__ == "__main__":
    main()
