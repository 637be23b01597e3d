#!/usr/bin/python3
"""The committed figures still show what cudp does (ctest: docs.figures).

For each figure that docs/figures/make.sh draws (`make.sh --list`: its name and
its `cudp train` flags, 3 steps, --test-size 32), a fresh trace is summarized
as tools/plot_trace.py does (step 1; matplotlib is not needed: no PNG is
drawn) and compared with the committed docs/figures/NAME.json, times aside:
  - per lane (device, lane, the process's name), the events in order, each
    with its name and phase and, where present, bytes, src, dst, bucket,
    offset, length, owner and peer;
  - the edges (src, dst, phase, name: bytes and count) and the per-device
    table of bytes sent and received;
  - the step drawn and the number of steps.
begin_ms, end_ms and duration_ms are dropped: they are this machine's.
Every committed summary must be one that make.sh draws, and the other way.

Why the order within a lane is stable: a lane is one stream (parallel/trace.h:
an event is on the lane of the stream that runs it), a stream runs its tasks
one at a time in the order they were queued, even when a waiting thread runs
a copy stream's task for it (runtime/cpu_worker.h), the marks that time a
span are tasks of that stream, and one host thread queues every task of a
step (dp and ddp: parallel/replica_set.cpp). So a lane's time order is its
queue order. The host lane is the host thread's own enqueue, wait/loss,
enqueue, sync. What did depend on scheduling was which step the host's first
`enqueue` fell in: it starts a few microseconds before or after the first
device reaches its `step` mark, so tools/plot_trace.py cuts the steps at the
host's `sync` instead (step_windows). No lane needs a canonical form beyond
dropping the times.

On a mismatch it prints the figure, the lane and the first differing event
of both sides, and how to redraw: docs/figures/make.sh build/cudp.
Run: /usr/bin/python3 tests/tools/figures_test.py --cudp build/cudp [--source DIR]
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CUDP = None
TIMES = ("begin_ms", "end_ms")


def load_plot_trace(root):
    spec = importlib.util.spec_from_file_location("plot_trace",
                                                  os.path.join(root, "tools", "plot_trace.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def listed_figures(root):
    """[(name, [flags])] from docs/figures/make.sh --list."""
    run = subprocess.run(["bash", os.path.join(root, "docs", "figures", "make.sh"), "--list"],
                         capture_output=True, text=True, check=True)
    return [(line.split()[0], line.split()[1:]) for line in run.stdout.splitlines() if line.strip()]


def comparable(summary):
    """The summary without its times: what must not change from run to run."""
    out = {key: value for key, value in summary.items() if key != "duration_ms"}
    out["lanes"] = [dict(lane, events=[{k: v for k, v in e.items() if k not in TIMES}
                                       for e in lane["events"]]) for lane in summary["lanes"]]
    return out


def first_difference(name, fresh, committed):
    """One paragraph naming where the two comparable summaries part, or None."""
    for key in ("source", "step", "steps"):
        if fresh.get(key) != committed.get(key):
            return f"{name}: {key} is {fresh.get(key)!r} fresh, {committed.get(key)!r} committed"
    lanes_f = {(l["device"], l["lane"]): l for l in fresh["lanes"]}
    lanes_c = {(l["device"], l["lane"]): l for l in committed["lanes"]}
    if sorted(lanes_f) != sorted(lanes_c):
        return (f"{name}: lanes {sorted(lanes_f)} fresh, {sorted(lanes_c)} committed")
    for key in sorted(lanes_f):
        f, c = lanes_f[key], lanes_c[key]
        if f["name"] != c["name"]:
            return f"{name}: device {key[0]} is named {f['name']!r} fresh, {c['name']!r} committed"
        ef, ec = f["events"], c["events"]
        differs = first_mismatch(ef, ec)
        if differs:
            i, a, b = differs
            return (f"{name}: device {key[0]} {key[1]} lane, event {i} of {len(ef)} fresh, "
                    f"{len(ec)} committed:\n  fresh:     {a}\n  committed: {b}")
    for key in ("edges", "devices"):
        f, c = fresh[key], committed[key]
        differs = first_mismatch(f, c)
        if differs:
            i, a, b = differs
            return (f"{name}: {key}[{i}] of {len(f)} fresh, {len(c)} committed:\n"
                    f"  fresh:     {a}\n  committed: {b}")
    return None


def first_mismatch(fresh, committed):
    """(index, fresh item, committed item) of the first place two lists differ, or None;
    the shorter list reads "(none)" past its end."""
    for i in range(max(len(fresh), len(committed))):
        a = fresh[i] if i < len(fresh) else "(none)"
        b = committed[i] if i < len(committed) else "(none)"
        if a != b:
            return i, a, b
    return None


class Figures(unittest.TestCase):
    def test_every_committed_summary_is_drawn_by_make_sh(self):
        names = {name for name, _ in listed_figures(SOURCE)}
        folder = os.path.join(SOURCE, "docs", "figures")
        committed = {f[:-5] for f in os.listdir(folder) if f.endswith(".json")}
        pictures = {f[:-4] for f in os.listdir(folder) if f.endswith(".png")}
        self.assertEqual(len(names), 8, names)
        self.assertEqual(committed, names, "docs/figures/*.json against make.sh --list")
        self.assertEqual(pictures, names, "docs/figures/*.png against make.sh --list")

    def test_fresh_summaries_equal_the_committed_ones_times_aside(self):
        plot_trace = load_plot_trace(SOURCE)
        failures = []
        with tempfile.TemporaryDirectory() as folder:
            for name, flags in listed_figures(SOURCE):
                trace = os.path.join(folder, f"{name}.json")  # the summary's source names it
                started = time.monotonic()
                run = subprocess.run([CUDP, "train", *flags, "--trace", trace],
                                     capture_output=True, text=True)
                self.assertEqual(run.returncode, 0, f"{name}: cudp train {' '.join(flags)}:\n"
                                 f"{run.stderr}")
                names, spans = plot_trace.read_trace(trace)
                steps = plot_trace.steps_of(trace, spans)
                step_spans = plot_trace.spans_of_step(spans, steps, 1)  # make.sh draws step 1
                fresh = plot_trace.summary(os.path.basename(trace), names, step_spans, 1,
                                           len(steps))
                with open(os.path.join(SOURCE, "docs", "figures", f"{name}.json")) as f:
                    committed = json.load(f)
                difference = first_difference(name, comparable(fresh), comparable(committed))
                print(f"{name}: {len(spans)} spans, {time.monotonic() - started:.1f} s, "
                      f"{'differs' if difference else 'same'}", file=sys.stderr)
                if difference:
                    failures.append(difference)
        if failures:
            self.fail("\n".join(failures) + "\nIf cudp's schedule changed on purpose, redraw: "
                      "docs/figures/make.sh build/cudp")

    def test_a_changed_summary_is_caught(self):
        # The comparison itself: a swapped pair of events, a byte count and a
        # lane's missing event each differ; a time does not.
        with open(os.path.join(SOURCE, "docs", "figures", "dp-cpu4-default.json")) as f:
            committed = comparable(json.load(f))
        lane = next(l for l in committed["lanes"] if l["lane"] == "copy" and len(l["events"]) > 2)
        cases = []
        swapped = json.loads(json.dumps(committed))
        events = next(l for l in swapped["lanes"] if l == lane)["events"]
        events[1], events[2] = events[2], events[1]
        cases.append(("swapped", swapped))
        recounted = json.loads(json.dumps(committed))
        event = next(e for l in recounted["lanes"] for e in l["events"] if "bytes" in e)
        event["bytes"] += 4
        cases.append(("bytes", recounted))
        shortened = json.loads(json.dumps(committed))
        shortened["lanes"][0]["events"].pop()
        cases.append(("shortened", shortened))
        for what, changed in cases:
            self.assertIsNotNone(first_difference("dp-cpu4-default", changed, committed), what)
        with open(os.path.join(SOURCE, "docs", "figures", "dp-cpu4-default.json")) as f:
            retimed = json.load(f)
        retimed["duration_ms"] += 1
        retimed["lanes"][0]["events"][0]["begin_ms"] += 1
        self.assertIsNone(first_difference("dp-cpu4-default", comparable(retimed), committed))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cudp", required=True)
    parser.add_argument("--source", default=ROOT, help="the repository (default: this one)")
    known, rest = parser.parse_known_args()
    CUDP, SOURCE = known.cudp, known.source
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
