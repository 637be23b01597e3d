#!/usr/bin/python3
"""Tests of tools/safetensors_torch.py and tools/plot_training.py (ctest: tools.python).

safetensors_torch: every dtype and the metadata round-trip; a file cudp wrote
loads as a state_dict that torch accepts, and one torch wrote loads in cudp
(`cudp train --init`, the `module.` prefix included); corrupt files are refused
with the file named. plot_training: a cudp --log file becomes a PNG.
Run: /usr/bin/python3 tests/tools/python_tools_test.py --cudp build/cudp
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
sys.path.insert(0, TOOLS)
import safetensors_torch  # noqa: E402
import torch_parity  # noqa: E402

CUDP = None


class SafetensorsTorch(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.folder.name, "t.safetensors")

    def tearDown(self):
        self.folder.cleanup()

    def test_every_dtype_and_the_metadata_round_trip(self):
        tensors = {
            "f32": torch.randn(3, 4), "f64": torch.randn(2, dtype=torch.float64),
            "f16": torch.randn(5).half(), "bf16": torch.randn(2, 3).bfloat16(),
            "i64": torch.arange(-3, 3), "i32": torch.arange(4, dtype=torch.int32),
            "u8": torch.arange(250, 256, dtype=torch.uint8), "bool": torch.tensor([True, False]),
            "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 7),
        }
        safetensors_torch.save(self.path, tensors, {"format": "pt", "note": 'a "quote"'})
        loaded, metadata = safetensors_torch.load(self.path)
        self.assertEqual(metadata, {"format": "pt", "note": 'a "quote"'})
        self.assertEqual(list(loaded), list(tensors))
        for name, t in tensors.items():
            self.assertEqual(loaded[name].dtype, t.dtype, name)
            self.assertTrue(torch.equal(loaded[name], t), name)
        self.assertEqual(os.listdir(self.folder.name), ["t.safetensors"], "no temp file left")

    def test_corrupt_files_are_refused_naming_the_file(self):
        safetensors_torch.save(self.path, {"w": torch.ones(4)})
        with open(self.path, "rb") as f:
            data = f.read()
        for bad in (data[:5], data[:-1], struct.pack("<Q", 1 << 40) + data[8:]):
            with open(self.path, "wb") as f:
                f.write(bad)
            with self.assertRaises(safetensors_torch.FormatError) as e:
                safetensors_torch.load(self.path)
            self.assertIn(self.path, str(e.exception))

    def test_cudp_and_torch_read_each_others_files(self):
        net = torch_parity.SeedPool(1, 8, 8)
        init = os.path.join(self.folder.name, "init.safetensors")
        saved = os.path.join(self.folder.name, "saved.safetensors")
        safetensors_torch.save(init, torch.nn.DataParallel(net).state_dict())  # module.conv1...
        run = subprocess.run([CUDP, "train", "--init", init, "--input", "1x8x8", "--steps", "1",
                              "--lr", "0", "--train-size", "16", "--test-size", "0",
                              "--devices", "cpu", "--save", saved],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        state_dict, metadata = safetensors_torch.load(saved)
        self.assertEqual(metadata["model"], "seed-pool")
        fresh = torch_parity.SeedPool(1, 8, 8)
        fresh.load_state_dict(state_dict)  # strict: every name and shape
        for name, t in net.state_dict().items():  # lr 0: the step changed nothing
            self.assertTrue(torch.equal(fresh.state_dict()[name], t), name)


class PlotTraining(unittest.TestCase):
    def test_a_cudp_log_becomes_a_png(self):
        with tempfile.TemporaryDirectory() as folder:
            log, png = os.path.join(folder, "run.jsonl"), os.path.join(folder, "run.png")
            run = subprocess.run([CUDP, "train", "--input", "1x8x8", "--steps", "6",
                                  "--train-size", "32", "--test-size", "16", "--batch", "8",
                                  "--log-every", "2", "--devices", "cpu", "--log", log],
                                 capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            plot = subprocess.run([sys.executable, os.path.join(TOOLS, "plot_training.py"), log,
                                   "-o", png], capture_output=True, text=True)
            self.assertEqual(plot.returncode, 0, plot.stderr)
            with open(png, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cudp", required=True)
    known, rest = parser.parse_known_args()
    CUDP = known.cudp
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
