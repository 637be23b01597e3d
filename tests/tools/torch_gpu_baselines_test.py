#!/usr/bin/python3
"""Tests of bench/baselines/torch_gpu_baselines.py on the CPU (ctest: tools.torch_gpu_baselines).

The script runs on a lent GPU only, so what can be checked without one is
checked here: the peak arithmetic against NVIDIA's published figures, which
records get a percentage of which peak, the names that tools/gpu_report.py's
goals look up, the math flags for both cuBLAS and cuDNN, and that without a
CUDA GPU the script exits non-zero with one line and no traceback.
Run: /usr/bin/python3 tests/tools/torch_gpu_baselines_test.py
"""
import os
import subprocess
import sys
import types
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCRIPT = os.path.join(ROOT, "bench", "baselines", "torch_gpu_baselines.py")
sys.path.insert(0, os.path.join(ROOT, "bench", "baselines"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import gpu_report  # noqa: E402
import torch_gpu_baselines as tb  # noqa: E402


class Peak(unittest.TestCase):
    def test_h100_sxm_published_figures(self):
        # 132 SMs: FP32 66.9 TFLOP/s at 1980 MHz; dense TF32 494.7 TFLOP/s, which assumes 1830 MHz.
        self.assertAlmostEqual(tb.peak_gflops(132, 1980, (9, 0), "fp32"), 66908.16, places=6)
        self.assertAlmostEqual(tb.peak_gflops(132, 1830, (9, 0), "tf32"), 494714.88, places=6)
        self.assertAlmostEqual(tb.peak_gflops(132, 1980, (9, 0), "tf32"), 535265.28, places=6)

    def test_a100_sxm_published_figures(self):
        self.assertAlmostEqual(tb.peak_gflops(108, 1410, (8, 0), "fp32") * 1e-3, 19.5, places=1)
        self.assertAlmostEqual(tb.peak_gflops(108, 1410, (8, 0), "tf32") * 1e-3, 155.9, places=1)

    def test_no_clock_or_unknown_architecture_is_no_peak(self):
        self.assertIsNone(tb.peak_gflops(132, None, (9, 0), "fp32"))
        self.assertIsNone(tb.peak_gflops(84, 2500, (8, 9), "tf32"))

    def test_percent_of_peak_on_rate_records_for_their_math(self):
        records = [{"name": "matmul_fp32_NN/1x1x1", "GFLOP/s": 33454.08, "math": "fp32"},
                   {"name": "matmul_tf32_NN/1x1x1", "GFLOP/s": 267632.64, "math": "tf32"},
                   {"name": "torch_copy/256MiB", "GB/s": 3000.0},
                   {"name": "torch_train_step_seed_pool/batch:32", "median_ms": 1.0, "math": "fp32"},
                   {"name": "matmul_fp32_NN/2x2x2", "error": "RuntimeError: boom", "math": "fp32"}]
        peaks = {"fp32": tb.peak_gflops(132, 1980, (9, 0), "fp32"),
                 "tf32": tb.peak_gflops(132, 1980, (9, 0), "tf32")}
        tb.add_peaks(records, peaks)
        self.assertAlmostEqual(records[0]["percent_of_peak"], 50.0)
        self.assertAlmostEqual(records[1]["percent_of_peak"], 50.0)
        self.assertAlmostEqual(records[1]["peak_GFLOP/s"], 535265.28)
        for r in records[2:]:
            self.assertNotIn("percent_of_peak", r, r["name"])
        no_peak = [{"name": "x", "GFLOP/s": 1.0, "math": "fp32"}]
        self.assertNotIn("percent_of_peak", tb.add_peaks(no_peak, {"fp32": None, "tf32": None})[0])

    def test_clock_from_nvidia_smi_and_without_it(self):
        said = types.SimpleNamespace(stdout="1980\n")
        self.assertEqual(tb.read_sm_clock(lambda *a, **k: said), ("clocks.max.sm (nvidia-smi)", 1980.0))

        def missing(*a, **k):
            raise FileNotFoundError("nvidia-smi")
        self.assertEqual(tb.read_sm_clock(missing)[1], None)
        self.assertEqual(tb.read_sm_clock(lambda *a, **k: types.SimpleNamespace(stdout="[N/A]\n"))[1], None)


class Names(unittest.TestCase):
    def test_record_names(self):
        self.assertEqual(tb.matmul_name("tf32", "NN", 4096, 4096, 4096), "matmul_tf32_NN/4096x4096x4096")
        self.assertEqual(tb.matmul_name("fp32", "NT", 32, 512, 4096), "matmul_fp32_NT/32x512x4096")
        self.assertEqual(tb.cudnn_conv_name("backward_data", "tf32", tb.conv_name(128, 64, 32, 64)),
                         "cudnn_conv2d_backward_data_tf32/N128_C64_32x32_K64_R3_pad1")
        self.assertEqual(tb.train_step_name(False, "fp32"), "torch_train_step_seed_pool/batch:32")
        self.assertEqual(tb.train_step_name(False, "tf32"), "torch_train_step_tf32_seed_pool/batch:32")
        self.assertEqual(tb.train_step_name(True, "fp32"), "torch_train_step_graph_seed_pool/batch:32")
        self.assertEqual(tb.train_step_name(True, "tf32"), "torch_train_step_graph_tf32_seed_pool/batch:32")

    def test_shapes_cover_the_goals(self):
        self.assertIn(("NN", 4096, 4096, 4096), tb.MATMUL_SHAPES)
        self.assertIn(("NN", 8192, 8192, 8192), tb.MATMUL_SHAPES)
        self.assertEqual(tb.MATHS, ("fp32", "tf32"))

    def test_every_goal_baseline_is_a_name_the_script_writes(self):
        written = {tb.matmul_name(math, *shape) for shape in tb.MATMUL_SHAPES for math in tb.MATHS}
        written |= {tb.cudnn_conv_name(p, math, tb.conv_name(*shape)) for shape in tb.CONV_SHAPES
                    for p in tb.CONV_PASSES for math in tb.MATHS}
        written |= {tb.train_step_name(graph, math) for graph in (False, True) for math in tb.MATHS}
        for goal in gpu_report.GOALS:
            base = goal[4]
            if base and base.startswith(("matmul_", "cudnn_", "torch_train_step")):
                self.assertIn(base, written, goal[0])


class Math(unittest.TestCase):
    def test_fp32_turns_tf32_off_for_cublas_and_cudnn(self):
        torch = types.SimpleNamespace(backends=types.SimpleNamespace(
            cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=True)),
            cudnn=types.SimpleNamespace(allow_tf32=True)))  # cuDNN's default is True
        tb.set_math(torch, "fp32")
        self.assertEqual((torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32),
                         (False, False))
        tb.set_math(torch, "tf32")
        self.assertEqual((torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32),
                         (True, True))


class WithoutCuda(unittest.TestCase):
    def test_exits_with_one_line(self):
        probe = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            self.skipTest("this machine has a CUDA GPU: the script would run the baselines")
        done = subprocess.run([sys.executable, "-B", SCRIPT, "--only", "matmul"], capture_output=True,
                              text=True, timeout=120)
        self.assertNotEqual(done.returncode, 0)
        self.assertNotIn("Traceback", done.stderr)
        lines = done.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, done.stderr)
        self.assertTrue(lines[0].startswith("torch_gpu_baselines.py: "), lines[0])
        self.assertEqual(done.stdout, "")


if __name__ == "__main__":
    unittest.main()
