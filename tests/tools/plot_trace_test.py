#!/usr/bin/python3
"""Tests of tools/plot_trace.py against a fresh trace of the built cudp (ctest: tools.plot_trace).

A ddp run of seed-pool on cpu:2 (2 steps) writes a trace; its step 1 (-o OUT)
becomes a 1200 x 900 PNG whose lanes hold forward, backward and all_reduce bars
and, beneath them, zoom panels on the all-reduce, with no temporary file left
beside it, and a summary JSON beside it whose lanes are in time order and whose
per-device table sums the edges (every byte sent is received). reduce_windows
groups the reduce's narrow spans by their gaps and keeps the four stretches that
move the most bytes. A rank's trace of a run over several processes, with a net
lane (tid 2) whose transfers lead to a device in another file, is drawn with a
third row per device (its reduce is wide: no zoom, 1200 x 500). Bad input (not a
trace object, a truncated trace, a step the trace does not hold) exits 1 with
one line naming the file or the flag, no traceback, and leaves an existing PNG
as it was.
Run: /usr/bin/python3 tests/tools/plot_trace_test.py --cudp build/cudp
"""
import argparse
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
PLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                    "plot_trace.py")
CUDP = None


def load_plot_trace():
    spec = importlib.util.spec_from_file_location("plot_trace", PLOT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_size(path):
    """(width, height) from the IHDR chunk; AssertionError if not a PNG."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG signature: {head[:8]!r}"
    assert head[12:16] == b"IHDR", f"{path}: first chunk is {head[12:16]!r}, not IHDR"
    return struct.unpack(">II", head[16:24])


class PlotTrace(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.trace = os.path.join(cls.folder.name, "run.json")
        run = subprocess.run([CUDP, "train", "--devices", "cpu:2", "--parallel", "ddp",
                              "--steps", "2", "--train-size", "64", "--test-size", "0",
                              "--trace", cls.trace],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def plot(self, *args):
        return subprocess.run([sys.executable, PLOT, *args], capture_output=True, text=True)

    def test_a_fresh_trace_becomes_a_png_of_its_lanes(self):
        with tempfile.TemporaryDirectory() as out:
            png = os.path.join(out, "step.png")
            run = self.plot(self.trace, "-o", png, "--step", "1")
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(png_size(png), (1200, 900), "the timeline and the zoom panels")
            self.assertEqual(sorted(os.listdir(out)), ["step.json", "step.png"],
                             "the PNG and its summary, no temporary file left")
            with open(os.path.join(out, "step.json")) as f:
                summary = json.load(f)
            self.assertEqual((summary["step"], summary["steps"]), (1, 2))
            lanes = {(lane["device"], lane["lane"]): lane["events"] for lane in summary["lanes"]}
            self.assertIn((0, "compute"), lanes)
            for events in lanes.values():
                begins = [e["begin_ms"] for e in events]
                self.assertEqual(begins, sorted(begins), "events in time order")
            compute = [e["name"] for e in lanes[(1, "compute")]]
            self.assertLess(compute.index("forward/conv1"), compute.index("backward/conv1"))
            # Every byte sent is received, and the table is the edges' sum; ddp's
            # all-reduce moves gradients between the two devices, the host sends the batch.
            edges = summary["edges"]
            table = {d["device"]: d for d in summary["devices"]}
            total = sum(e["bytes"] for e in edges)
            self.assertEqual(sum(d["sent_bytes"] for d in table.values()), total)
            self.assertEqual(sum(d["received_bytes"] for d in table.values()), total)
            self.assertGreater(table[-1]["sent_bytes"], 0)
            self.assertTrue(any(e["src"] >= 0 and e["phase"] == "all_reduce" for e in edges), edges)
            import matplotlib.image

            # The lanes only: the legend, right of x = 0.8 of the width, has every colour too.
            # The top 500 pixels are the timeline, the zoom panels are below 560.
            image = (matplotlib.image.imread(png)[:, :, :3] * 255).round().astype(int)

            def counts(part):
                found = {}
                for pixel in part.reshape(-1, 3).tolist():
                    found[tuple(pixel)] = found.get(tuple(pixel), 0) + 1
                return found

            timeline, zooms = counts(image[:500, :960]), counts(image[560:, :])
            for phase, colour, least in (("forward", (0x1F, 0x77, 0xB4), 500),
                                         ("backward", (0xFF, 0x7F, 0x0E), 500),
                                         ("all_reduce", (0x2C, 0xA0, 0x2C), 20)):
                found = timeline.get(colour, 0)
                self.assertGreaterEqual(found, least, f"{png}: {found} {phase} pixels in the lanes")
            found = zooms.get((0x2C, 0xA0, 0x2C), 0)
            self.assertGreaterEqual(found, 200, f"{png}: {found} all_reduce pixels in the zooms")

    def test_a_net_lane_is_drawn_as_a_third_row(self):
        # Rank 1's file of two: devices 1 and 2, a recv from rank 0's device 0 on device 1's net lane.
        def meta(pid, name, tid=0, value=None):
            key = "sort_index" if name == "process_sort_index" else "name"
            return {"ph": "M", "name": name, "pid": pid, "tid": tid, "args": {key: value}}

        events = []
        for pid in (1, 2):
            events += [meta(pid, "process_name", 0, f"rank 1 \u00b7 device {pid} (cpu:{pid - 1}) "
                                                   "\u00b7 h"), meta(pid, "process_sort_index", 0, pid)]
            events += [meta(pid, "thread_name", t, n) for t, n in enumerate(("compute", "copy", "net"))]
            events.append({"ph": "X", "name": "step", "pid": pid, "tid": 0, "ts": 0, "dur": 900})
        events.append({"ph": "X", "name": "recv", "pid": 1, "tid": 2, "ts": 100, "dur": 300,
                       "args": {"bytes": 4096, "src": 0, "dst": 1, "peer": 0, "phase": "reduce"}})
        events.append({"ph": "X", "name": "copy", "pid": 2, "tid": 1, "ts": 500, "dur": 100,
                       "args": {"bytes": 4096, "src": 1, "dst": 2, "phase": "reduce"}})
        # A collective over the processes names its bytes and bucket, no src or dst;
        # its exchange counts the bytes sent plus received.
        events.append({"ph": "X", "name": "all_reduce", "pid": 1, "tid": 2, "ts": 450, "dur": 300,
                       "args": {"bytes": 8192, "bucket": 0}})
        events.append({"ph": "X", "name": "exchange", "pid": 1, "tid": 2, "ts": 460, "dur": 200,
                       "args": {"bytes": 16384, "peer": 0, "phase": "reduce_scatter"}})
        with tempfile.TemporaryDirectory() as out:
            trace, png = os.path.join(out, "run.rank1.json"), os.path.join(out, "step.png")
            with open(trace, "w") as f:
                json.dump({"cudp": {"rank": 1, "ranks": 2}, "traceEvents": events}, f)
            run = self.plot(trace, png)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(png_size(png), (1200, 500))  # its reduce is wide: no zoom panel
            with open(os.path.join(out, "step.json")) as f:
                table = {d["device"]: d for d in json.load(f)["devices"]}
            self.assertEqual(table[1], {"device": 1, "sent_bytes": 4096, "received_bytes": 4096,
                                        "net_bytes": 16384})
            self.assertEqual(table[0]["sent_bytes"], 4096)  # another process's device
            self.assertEqual(table[2]["received_bytes"], 4096)

    def test_the_zoom_windows_are_the_reduce_stretches_that_move_the_most(self):
        plot = load_plot_trace()

        def span(begin, end, moved, phase="reduce", lane=1):
            return plot.Span(0, lane, "peer_add", phase, begin, end, moved, 1, 0, {})

        # Six stretches of a 100 ms step, 15 ms apart (over 1% of it, and merging
        # two would make one over 5%): the four that move the most bytes are
        # kept, in time order; spans 0.4 ms apart are one stretch; a forward, a
        # host span or a reduce span 3% of the step wide is never zoomed on.
        spans = [span(15 * i, 15 * i + 0.5, moved) for i, moved in
                 enumerate((5, 900, 10, 800, 700, 600))]
        spans += [span(75.9, 76.2, 1), span(95, 100, 10 ** 6, "forward"),
                  span(5, 6, 10 ** 6, "reduce", 3), span(20, 23, 10 ** 6)]
        windows, found = plot.reduce_windows(spans, 100.0)
        self.assertEqual(found, 6)
        self.assertEqual([round((b + e) / 2, 2) for b, e in windows], [15.25, 45.25, 60.25, 75.6])
        # At least 1% of the step wide, padded by 5% of the width on each side.
        self.assertAlmostEqual(windows[0][1] - windows[0][0], 1.1)
        self.assertAlmostEqual(windows[3][1] - windows[3][0], 1.32)
        # Five stretches, two of them 3 ms apart: those two become one window.
        spans = [span(begin, begin + 0.5, 100) for begin in (0, 20, 40, 43.5, 80)]
        windows, found = plot.reduce_windows(spans, 100.0)
        self.assertEqual(found, 4)
        self.assertEqual([(round(b, 2), round(e, 2)) for b, e in windows],
                         [(-0.3, 0.8), (19.7, 20.8), (39.8, 44.2), (79.7, 80.8)])
        self.assertEqual(plot.reduce_windows([span(1, 2, 9, "forward")], 10.0), ([], 0))

    def test_bad_input_exits_1_naming_the_file_and_keeps_the_png(self):
        with tempfile.TemporaryDirectory() as out:
            png = os.path.join(out, "step.png")
            with open(png, "wb") as f:
                f.write(b"an earlier picture")
            listed = os.path.join(out, "list.json")
            with open(listed, "w") as f:
                f.write("[1, 2]")
            truncated = os.path.join(out, "truncated.json")
            with open(self.trace) as f, open(truncated, "w") as g:
                g.write(f.read()[:500])
            cases = [((listed, png), f"{listed}: expected a JSON object with traceEvents, "
                                     "found a list"),
                     ((truncated, png), f"{truncated}: expected Chrome trace JSON"),
                     ((self.trace, png, "--step", "7"), "--step 7: the trace holds steps 0..1"),
                     ((self.trace, png, "--summary", self.trace), "that is the trace itself")]
            for args, message in cases:
                run = self.plot(*args)
                self.assertEqual(run.returncode, 1, f"{args}: {run.stderr}")
                self.assertIn(message, run.stderr)
                self.assertNotIn("Traceback", run.stderr)
                self.assertEqual(len(run.stderr.strip().splitlines()), 1, run.stderr)
                with open(png, "rb") as f:
                    self.assertEqual(f.read(), b"an earlier picture", f"{args} touched the PNG")
            self.assertEqual(sorted(os.listdir(out)), ["list.json", "step.png", "truncated.json"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cudp", required=True)
    known, rest = parser.parse_known_args()
    CUDP = known.cudp
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
