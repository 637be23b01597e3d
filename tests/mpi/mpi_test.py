#!/usr/bin/python3
"""`mpirun -np N cudp train --parallel ddp` against one process, and its faults.

    /usr/bin/python3 tests/mpi/mpi_test.py --cudp build/cudp GROUP

GROUP is one of:
  bits    every rank count and local device count gives, tensor for tensor, the
          checkpoint of one process over the same total number of devices
          (tree and star, uneven and idle shards, TCP forced once), and
          --inter allreduce agrees with tree to float rounding
  resume  a checkpoint written under mpirun resumes exactly in one process and
          under mpirun, and one written by one process resumes under mpirun
  faults  ranks with different settings are refused on every rank, naming the
          flag; dp under mpirun is refused; a killed rank and a stopped rank
          (the --timeout watchdog) end every rank non-zero within a bound
  trace   each rank's --trace file merges (cudp trace merge) into one trace
          with a lane per global device, grouped by rank, every event of both
          ranks kept, and their steps on one time origin; each rank's net lane
          holds every bucket's all-reduce, and its hidden/exposed totals equal
          its spans (exposed: the collectives' time without compute on the
          first device) and rank 0's printed summary
Exit status 0 when every check holds; each failure is printed with the command.
Open MPI refuses root without OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), and three ranks
on two cores need --oversubscribe: both are set here.
"""
import argparse
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "apps"))
from same_bits import tensors  # noqa: E402  (the one safetensors reader of the tests)

BASE = ("--train-size 60 --test-size 12 --momentum 0.9 --threads 1").split()
COMMON = BASE + "--lr 0.05 --log-every 100 --seed 5 --parallel ddp".split()

failures = []


def env():
    e = dict(os.environ)
    e["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
    e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    e["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    return e


def mpirun(args, np_):
    return [args.mpirun, "-np", str(np_), "--oversubscribe"]


def run(cmd, timeout=300):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout)
    return p


def check(ok, what, p=None):
    if ok:
        print("ok   " + what)
        return
    print("FAIL " + what)
    if p is not None:
        print("  command: " + " ".join(p.args))
        print("  exit " + str(p.returncode))
        print("  stdout: " + p.stdout[-2000:])
        print("  stderr: " + p.stderr[-2000:])
    failures.append(what)


def same_tensors(a, b):
    ta, tb = tensors(a), tensors(b)
    return sorted(ta) == sorted(tb) and all(ta[k] == tb[k] for k in ta)


def close_tensors(a, b, rtol=1e-5, atol=1e-7):
    ta, tb = tensors(a), tensors(b)
    worst = 0.0
    for k in ta:
        xs = struct.unpack("<%df" % (len(ta[k]) // 4), ta[k])
        ys = struct.unpack("<%df" % (len(tb[k]) // 4), tb[k])
        for x, y in zip(xs, ys):
            if abs(x - y) > atol + rtol * abs(y):
                return False, k
            worst = max(worst, abs(x - y))
    return True, worst


def train(args, tmp, name, flags, np_=0, mca=(), per_rank=None):
    """per_rank: one list of extra flags per rank (mpirun's MPMD form, np_ ranks in all)."""
    path = os.path.join(tmp, name + ".safetensors")
    if "--input" not in flags:
        flags = ["--input", "3x16x16"] + flags
    cmd = [args.cudp, "train"] + COMMON + flags + ["--save", path]
    if per_rank:
        apps = [["-np", "1"] + cmd + extra for extra in per_rank]
        return run([args.mpirun, "--oversubscribe"] + sum((a + [":"] for a in apps), [])[:-1]), path
    return run((mpirun(args, np_) + list(mca) if np_ else []) + cmd), path


def optim(path):
    return path.replace(".safetensors", ".optim.safetensors")


def group_bits(args, tmp):
    cases = [  # name, ranks, local devices, one process's devices, extra flags
        ("np2xcpu2=cpu4", 2, "cpu:2", "cpu:4", ["--batch", "10", "--steps", "5"]),
        ("np3xcpu1=cpu3", 3, "cpu:1", "cpu:3", ["--batch", "10", "--steps", "5"]),
        ("np2xcpu3=cpu6 uneven", 2, "cpu:3", "cpu:6", ["--batch", "29", "--steps", "4"]),
        ("np2xcpu2=cpu4 star", 2, "cpu:2", "cpu:4",
         ["--batch", "10", "--steps", "4", "--reduce", "star"]),
        ("np3xcpu1=cpu3 idle", 3, "cpu:1", "cpu:3", ["--batch", "2", "--steps", "4"]),
        ("np2xcpu2=cpu4 copy edges", 2, "cpu:2", "cpu:4",
         ["--batch", "9", "--steps", "3", "--edge", "copy", "--chunk-bytes", "4K"]),
    ]
    # 3x32x32: seed-pool's fc1 (1.9M floats) is big enough for the parts
    # schedule (parallel/net_schedule.h); the 3x16x16 cases run the tree.
    parts = ["--input", "3x32x32", "--steps", "3"]
    cases += [
        ("parts:np2xcpu1=cpu2", 2, "cpu:1", "cpu:2", parts + ["--batch", "10"]),
        ("parts:np2xcpu3=cpu6 uneven", 2, "cpu:3", "cpu:6", parts + ["--batch", "29"]),
        ("parts:np3xcpu1=cpu3 idle", 3, "cpu:1", "cpu:3", parts + ["--batch", "2"]),
        ("parts:cpu2+cpu1=cpu3", 2, ["cpu:2", "cpu:1"], "cpu:3", parts + ["--batch", "7"]),
        ("cpu1+cpu2=cpu3", 2, ["cpu:1", "cpu:2"], "cpu:3", ["--batch", "7", "--steps", "3"]),
        # --textbook: DDP's reducer buckets (fc1 with the layers above it, then
        # conv2, conv1), no parts across processes; equal to one process's
        # textbook run, which BucketPlan.TextbookGivesTheDefaultsBits ties to the default.
        ("textbook:np2xcpu2=cpu4", 2, "cpu:2", "cpu:4",
         parts + ["--batch", "10", "--textbook", "--bucket-cap-mb", "0.01"]),
        # --reduce ring: each hop local or MPI, round the global devices.
        ("ring:np2xcpu2=cpu4", 2, "cpu:2", "cpu:4", ["--batch", "10", "--steps", "5", "--reduce", "ring"]),
        ("ring:np3xcpu1=cpu3 idle", 3, "cpu:1", "cpu:3",
         ["--batch", "2", "--steps", "3", "--reduce", "ring"]),
        ("ring:cpu2+cpu1=cpu3 copy edges", 2, ["cpu:2", "cpu:1"], "cpu:3",
         ["--batch", "7", "--steps", "3", "--reduce", "ring", "--edge", "copy", "--chunk-bytes", "4K"]),
    ]
    for name, np_, local, single, flags in cases:
        tag = name.split()[0]
        p1, one = train(args, tmp, tag + "-one", ["--devices", single] + flags)
        if isinstance(local, list):
            pn, many = train(args, tmp, tag + "-mpi", flags, np_,
                             per_rank=[["--devices", spec] for spec in local])
        else:
            pn, many = train(args, tmp, tag + "-mpi", ["--devices", local] + flags, np_)
        check(p1.returncode == 0, name + ": one process runs", p1)
        check(pn.returncode == 0, name + ": mpirun runs", pn)
        if p1.returncode or pn.returncode:
            continue
        check(same_tensors(one, many), name + ": the model's tensors are bitwise equal", pn)
        check(same_tensors(optim(one), optim(many)), name + ": the optimizer's too", pn)
        def losses(p):  # "step 3/3  loss 2.5067  acc  11.1%", and the held-out line's
            keep = [l[:l.index("%") + 1] for l in p.stdout.splitlines()
                    if l.startswith("step") or l.startswith("epoch")]
            return keep if keep else None
        check(losses(p1) == losses(pn),
              name + ": rank 0 prints the same losses and accuracies", pn)
    # The ring is its own order: its bits are not the tree's (same flags otherwise).
    check(not same_tensors(os.path.join(tmp, "np2xcpu2=cpu4-one.safetensors"),
                           os.path.join(tmp, "ring:np2xcpu2=cpu4-one.safetensors")),
          "--reduce ring sums in another order than the tree: other last bits")
    # Over TCP, as between two machines.
    flags = ["--batch", "10", "--steps", "3"]
    p1, one = train(args, tmp, "tcp-one", ["--devices", "cpu:4"] + flags)
    pn, many = train(args, tmp, "tcp-mpi", ["--devices", "cpu:2"] + flags, 2,
                     ["--mca", "pml", "ob1", "--mca", "btl", "self,tcp"])
    check(pn.returncode == 0 and same_tensors(one, many), "TCP (pml ob1, btl self,tcp): bitwise", pn)
    # MPI's own all-reduce: the same result to float rounding, not the same bits.
    flags = ["--batch", "12", "--steps", "4"]
    p1, one = train(args, tmp, "inter-one", ["--devices", "cpu:3"] + flags)
    pn, many = train(args, tmp, "inter-mpi", ["--devices", "cpu:1", "--inter", "allreduce"] + flags, 3)
    ok = pn.returncode == 0 and close_tensors(one, many)[0]
    check(ok, "--inter allreduce over 3 ranks agrees with tree within rtol 1e-5", pn)
    # --check-replicas compares every rank's parameters (a hash) after each step.
    pn, _ = train(args, tmp, "check", ["--devices", "cpu:2", "--batch", "8", "--steps", "2",
                                       "--check-replicas"], 2)
    check(pn.returncode == 0, "--check-replicas across ranks: the replicas agree", pn)
    # Rank 0 alone writes: one log, one checkpoint; one trace per rank.
    log = os.path.join(tmp, "run.jsonl")
    trace = os.path.join(tmp, "run.json")
    pn, _ = train(args, tmp, "outputs", ["--devices", "cpu:1", "--batch", "8", "--steps", "2",
                                         "--log", log, "--trace", trace], 2)
    lines = open(log).read().splitlines() if os.path.exists(log) else []
    check(pn.returncode == 0 and len([l for l in lines if '"start"' in l]) == 1,
          "--log: rank 0 alone writes it (one start line)", pn)
    check(all(os.path.exists(os.path.join(tmp, "run.rank%d.json" % r)) for r in (0, 1)),
          "--trace: one file per rank (run.rank0.json, run.rank1.json)", pn)
    check(pn.stdout.count("cudp train") == 1 and "2 ranks (MPI)" in pn.stdout,
          "rank 0 alone prints, and the table shows the ranks", pn)


def group_resume(args, tmp):
    flags = ["--batch", "10", "--steps", "6"]
    p, straight = train(args, tmp, "straight", ["--devices", "cpu:4"] + flags)
    check(p.returncode == 0, "a straight run of 6 steps", p)
    p, saved = train(args, tmp, "saved", ["--devices", "cpu:2", "--save-every", "3"] + flags, 2)
    check(p.returncode == 0, "mpirun -np 2 with --save-every 3", p)
    step3 = saved.replace(".safetensors", ".step3.safetensors")
    check(os.path.exists(step3), "rank 0 wrote the step-3 checkpoint", p)
    p, one = train(args, tmp, "resumed-one", ["--devices", "cpu:4", "--resume", step3] + flags)
    check(p.returncode == 0 and same_tensors(straight, one),
          "a checkpoint from -np 2 resumes in one process exactly", p)
    p, many = train(args, tmp, "resumed-mpi", ["--devices", "cpu:2", "--resume", step3] + flags, 2)
    check(p.returncode == 0 and same_tensors(straight, many), "--resume under mpirun is exact", p)
    p, single = train(args, tmp, "single", ["--devices", "cpu:4", "--save-every", "3"] + flags)
    step3 = single.replace(".safetensors", ".step3.safetensors")
    p, many = train(args, tmp, "resumed-mpi2", ["--devices", "cpu:1", "--resume", step3] + flags, 4)
    check(p.returncode == 0 and same_tensors(straight, many),
          "a one-process checkpoint resumes under -np 4 exactly", p)


def group_faults(args, tmp):
    base = [args.cudp, "train"] + BASE + ["--input", "3x16x16", "--devices", "cpu:1", "--batch", "8", "--steps", "2"]
    cmd = [args.mpirun, "--oversubscribe", "-np", "1"] + base + ["--lr", "0.01", ":", "-np", "1"] + \
        base + ["--lr", "0.02"]
    p = run(cmd, timeout=120)
    check(p.returncode != 0, "different --lr: refused, non-zero", p)
    for rank in (0, 1):
        check("rank %d: cudp train: error: --lr differs between ranks" % rank in p.stderr,
              "different --lr: rank %d names the flag and both values" % rank, p)
    p = run(mpirun(args, 2) + base + ["--parallel", "dp"], timeout=120)
    check(p.returncode != 0 and "dp is one process" in p.stderr and "use ddp" in p.stderr,
          "--parallel dp under mpirun: refused, suggesting ddp", p)
    p = run(mpirun(args, 2) + base + ["--reduce", "ring", "--inter", "allreduce"], timeout=120)
    check(p.returncode != 0 and "--reduce ring" in p.stderr and "--inter tree" in p.stderr,
          "--reduce ring --inter allreduce under mpirun: refused, suggesting --inter tree", p)
    # A killed rank, then a stopped one (only the watchdog can see that).
    for how, sig, bound in (("killed", signal.SIGKILL, 60), ("stopped", signal.SIGSTOP, 60)):
        marker = str(7000 + sig)
        long_run = [args.cudp, "train"] + BASE + ["--input", "3x16x16",
            "--parallel", "ddp", "--devices", "cpu:1", "--batch", "8", "--steps", "100000",
            "--seed", marker, "--timeout", "5", "--log-every", "1"]
        start = time.time()
        p = subprocess.Popen(mpirun(args, 2) + long_run, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env())
        victim = None
        while time.time() - start < 60 and victim is None:
            line = p.stdout.readline()
            if not line:
                break
            if line.startswith("step"):
                ps = subprocess.run(["pgrep", "-f", "--", "--seed " + marker], capture_output=True,
                                    text=True).stdout.split()
                pids = sorted(int(x) for x in ps if int(x) != p.pid)
                cudp = [q for q in pids if open("/proc/%d/cmdline" % q).read().startswith(args.cudp)]
                if len(cudp) >= 2:
                    victim = cudp[-1]
        if victim is None:
            p.kill()
            check(False, how + " rank: could not find the ranks' processes")
            continue
        os.kill(victim, sig)
        killed_at = time.time()
        try:
            out, err = p.communicate(timeout=bound)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            check(False, "%s rank: every rank ended within %d s" % (how, bound))
            continue
        if sig == signal.SIGSTOP:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        took = time.time() - killed_at
        check(p.returncode != 0, "%s rank: the run ends non-zero (%d) after %.1f s" %
              (how, p.returncode, took))
        if sig == signal.SIGSTOP:
            check("--timeout" in err and "waited" in err,
                  "stopped rank: the watchdog names --timeout: " + err.strip()[-300:])


def group_trace(args, tmp):
    trace, merged = os.path.join(tmp, "run.json"), os.path.join(tmp, "merged.json")
    steps = 3
    pn, _ = train(args, tmp, "traced", ["--devices", "cpu:2", "--batch", "12", "--steps",
                                        str(steps), "--trace", trace], 2)
    check(pn.returncode == 0, "mpirun -np 2 --trace runs", pn)
    files = [os.path.join(tmp, "run.rank%d.json" % r) for r in (1, 0)]
    if pn.returncode or not all(os.path.exists(f) for f in files):
        check(False, "--trace: one file per rank")
        return
    p = run([args.cudp, "trace", "merge", "--output", merged] + files)
    check(p.returncode == 0 and "merged 2 ranks (4 devices" in p.stdout, "cudp trace merge runs", p)
    if p.returncode:
        return
    ranks = [json.load(open(f)) for f in reversed(files)]
    document = json.load(open(merged))
    events = document["traceEvents"]
    check(len(events) == sum(len(r["traceEvents"]) for r in ranks),
          "the merged trace keeps every event of both ranks (%d)" % len(events))
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    host = ranks[0]["cudp"]["host"]
    want = {g: "rank %d \u00b7 device %d (cpu:%d) \u00b7 %s" % (g // 2, g, g % 2, host)
            for g in range(4)}
    check(names == want, "one lane per global device, named by rank, device and host: %r" % names)
    order = {e["pid"]: e["args"]["sort_index"] for e in events
             if e["name"] == "process_sort_index"}
    check(order == {g: g for g in range(4)}, "sorted by global device, so grouped by rank")
    spans = [e for e in events if e.get("ph") == "X"]
    check({e["pid"] for e in spans} == set(range(4)), "spans from every device of both ranks")
    by_pid = {g: sorted((e["ts"], e["ts"] + e["dur"]) for e in spans
                        if e["pid"] == g and e["name"] == "step") for g in range(4)}
    check(all(len(v) == steps for v in by_pid.values()), "%d step spans per device" % steps)
    # One origin: the ranks' all-reduce ties their steps together, so step k of a
    # device of rank 0 overlaps step k of a device of rank 1; and the origin is the
    # barrier before the first step, so neither rank's first event is at exactly 0
    # as it would be from each file's own first event.
    overlap = all(by_pid[0][k][0] < by_pid[2][k][1] and by_pid[2][k][0] < by_pid[0][k][1]
                  for k in range(steps))
    check(overlap, "step k of rank 0 and rank 1 overlap on the shared origin: %r" % by_pid)
    firsts = [min(e["ts"] for e in r["traceEvents"] if e.get("ph") == "X") for r in ranks]
    check(all(t > 0 for t in firsts) and all(r["cudp"]["origin"] == "shared" for r in ranks),
          "times from the shared origin, not each file's first event: first spans at %r" % firsts)
    for rank, r in enumerate(ranks):
        check_net_time(r, rank, steps)
    check_net_report(pn.stdout, ranks[0]["cudp"]["net"], steps)
    check_plot(merged, tmp)


def check_plot(merged, tmp):
    """tools/plot_trace.py draws the merged trace (its net collectives carry bytes
    without src or dst) and its summary counts every device's net exchanges."""
    png = os.path.join(tmp, "merged_step.png")
    plot = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                        "plot_trace.py")
    p = run(["/usr/bin/python3", plot, merged, "-o", png])
    check(p.returncode == 0 and os.path.exists(png), "plot_trace.py draws the merged trace", p)
    if p.returncode:
        return
    devices = json.load(open(os.path.join(tmp, "merged_step.json")))["devices"]
    nets = {d["device"]: d["net_bytes"] for d in devices}
    check(nets.get(0, 0) > 0 and nets.get(2, 0) > 0,
          "the summary counts net exchanges on each rank's first device: %r" % nets)


def covered(intervals):
    """The length of the union of [begin, end) intervals (parallel/intervals.h)."""
    total, reach = 0.0, float("-inf")
    for begin, end in sorted(i for i in intervals if i[1] > i[0]):
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return total


def check_net_time(rank_trace, rank, steps):
    """The net lane: every bucket all-reduced once a step (the broadcast once),
    each exchange inside a collective, and the "net" totals equal to its spans:
    busy to the collectives, exposed to the part of them in which no compute
    span of the first device ran (parallel/comm_clock.h)."""
    spans = [e for e in rank_trace["traceEvents"] if e.get("ph") == "X"]
    first = rank_trace["cudp"]["first_device"]
    net = [e for e in spans if e["tid"] == 2]
    collectives = [e for e in net if e["name"] in ("all_reduce", "broadcast", "reduce")]
    buckets = {}
    for e in collectives:
        if e["name"] == "all_reduce":
            buckets[e["args"]["bucket"]] = buckets.get(e["args"]["bucket"], 0) + 1
    check(len(buckets) > 1 and set(buckets.values()) == {steps},
          "rank %d: every bucket all-reduced once per step: %r" % (rank, buckets))
    check([e["name"] for e in collectives].count("broadcast") == 1,
          "rank %d: ddp's first broadcast is one net collective" % rank)
    inside = all(any(c["ts"] - 0.002 <= x["ts"] and x["ts"] + x["dur"] <= c["ts"] + c["dur"] + 0.002
                     for c in collectives) for x in net if x["name"] in ("exchange", "add"))
    check(inside and any(x["name"] == "exchange" for x in net),
          "rank %d: each exchange and add lies inside a collective" % rank)
    totals = rank_trace["cudp"]["net"]
    busy = sum(e["dur"] for e in collectives) / 1000
    computes = [(e["ts"], e["ts"] + e["dur"]) for e in spans if e["pid"] == first and
                (e["name"].startswith(("forward/", "backward/")) or e["name"] in ("loss", "sgd"))]
    moving = [(e["ts"], e["ts"] + e["dur"]) for e in collectives]
    # covered(net minus compute) = covered(net + compute) - covered(compute)
    exposed = (covered(moving + computes) - covered(computes)) / 1000
    check(abs(totals["busy_ms"] - busy) < 0.01 and abs(totals["exposed_ms"] - exposed) < 0.01
          and 0 <= totals["hidden_ms"] <= totals["busy_ms"],
          "rank %d: net totals %r are the spans' (busy %.3f, exposed %.3f)" % (rank, totals, busy,
                                                                           exposed))


def check_net_report(stdout, totals, steps):
    """Rank 0 prints, per progress line and at the end, what its trace totals say."""
    lines = [l for l in stdout.splitlines() if l.startswith("step ")]
    check(lines and all(" net " in l and "% hidden)" in l for l in lines),
          "every progress line has the net column: %r" % lines)
    summary = [l for l in stdout.splitlines() if l.startswith("across processes: ")]
    if not summary:
        check(False, "the summary says how much communication was hidden: " + stdout[-400:])
        return
    m = re.match(r"across processes: ([0-9.]+) ms/step in collectives on rank 0 \(.*\), "
                 r"([0-9.]+) ms/step of it exposed \(([0-9]+)% hidden", summary[0])
    if not m:
        check(False, "the summary's form: " + summary[0])
        return
    busy, exposed, hidden = float(m.group(1)), float(m.group(2)), int(m.group(3))
    want_hidden = 100 * totals["hidden_ms"] / totals["busy_ms"] if totals["busy_ms"] else 100
    check(abs(busy - totals["busy_ms"] / steps) < 0.006 and
          abs(exposed - totals["exposed_ms"] / steps) < 0.006 and abs(hidden - want_hidden) <= 0.51,
          "the summary's figures are the trace's per step: %r against %r" % (summary[0], totals))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cudp", required=True)
    parser.add_argument("--mpirun", default="mpirun")
    parser.add_argument("group", choices=["bits", "resume", "faults", "trace"])
    args = parser.parse_args()
    args.cudp = os.path.abspath(args.cudp)
    with tempfile.TemporaryDirectory() as tmp:
        groups = {"bits": group_bits, "resume": group_resume, "faults": group_faults,
                  "trace": group_trace}
        groups[args.group](args, tmp)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
