#!/usr/bin/python3
"""Tests of tools/gpu_report.py's verdicts (ctest: tools.gpu_report): compute-sanitizer,
the mpirun phase, and the goals on fixture benchmark and baseline JSON.

The report runs on a lent GPU, once, with no second chance: each summary line
that compute-sanitizer prints (memcheck/synccheck's ERROR SUMMARY, racecheck's
RACECHECK SUMMARY), a timeout, a refused device and a filter that matched
nothing must each give the right verdict here, on the CPU. "passed" only for
zero errors over tests that ran. Standard library only.
Run: /usr/bin/python3 tests/tools/gpu_report_test.py
"""
import json
import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import gpu_report  # noqa: E402

GTEST_OK = """[==========] 5 tests from 4 test suites ran. (39912 ms total)
[  PASSED  ] 5 tests.
"""


class SanitizerVerdict(unittest.TestCase):
    def verdict(self, tool, log, status="ok", rc="0"):
        with tempfile.TemporaryDirectory() as work:
            with open(os.path.join(work, f"{tool}.log"), "w") as f:
                f.write(log)
            phases = {tool: {"status": status, "rc": rc, "seconds": "1", "limit": "60", "detail": ""}}
            return gpu_report.sanitizer_verdict(tool, work, phases)

    def test_racecheck_summary_with_no_hazard_passes(self):
        # The line an H200 printed on 2026-11-26, which the first parser called "unavailable".
        log = GTEST_OK + "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)\n"
        verdict, detail = self.verdict("racecheck", log)
        self.assertEqual(verdict, "passed: 0 errors")
        self.assertEqual(detail, "5 tests ran, 5 passed, 0 failed, 0 skipped")

    def test_racecheck_errors_and_warnings_fail(self):
        for errors, warnings in ((2, 0), (0, 3)):
            log = (GTEST_OK + "========= Error: Race reported between Write access at gemm_v4\n"
                   f"========= RACECHECK SUMMARY: 1 hazard displayed ({errors} errors, {warnings} warnings)\n")
            verdict, _ = self.verdict("racecheck", log)
            self.assertTrue(verdict.startswith(f"FAILED: {errors} errors, {warnings} warnings"), verdict)
            self.assertIn("Race reported", verdict)

    def test_memcheck_summary(self):
        self.assertEqual(self.verdict("memcheck", GTEST_OK + "========= ERROR SUMMARY: 0 errors\n")[0],
                         "passed: 0 errors")
        verdict, _ = self.verdict("memcheck", GTEST_OK + "========= Invalid __global__ write of size 4\n"
                                  "========= ERROR SUMMARY: 1 error\n")
        self.assertTrue(verdict.startswith("FAILED: 1 errors"), verdict)

    def test_no_summary_timeout_refusal_and_empty_filter_never_pass(self):
        cases = [
            ("memcheck", GTEST_OK, "ok", "sanitizer unavailable: no ERROR SUMMARY"),
            ("racecheck", "[ RUN      ] CudaGemm.X\n", "timeout", "not passed: timed out"),
            ("memcheck", "========= Device not supported\n", "failed", "sanitizer unavailable"),
            ("synccheck", "[==========] 0 tests from 0 test suites ran. (0 ms total)\n"
             "[  PASSED  ] 0 tests.\n========= ERROR SUMMARY: 0 errors\n", "ok", "not passed: no test ran"),
        ]
        for tool, log, status, expected in cases:
            verdict, _ = self.verdict(tool, log, status)
            self.assertTrue(verdict.startswith(expected), f"{tool} {status}: {verdict}")


class MpirunPhase(unittest.TestCase):
    """The mpirun phase's verdict line reaches the report as printed; no line is no verdict."""

    def section(self, log, status="ok", rc="0"):
        with tempfile.TemporaryDirectory() as work:
            if log is not None:
                with open(os.path.join(work, "mpirun.log"), "w") as f:
                    f.write(log)
            phases = {"mpirun": {"status": status, "rc": rc, "seconds": "1", "limit": "60", "detail": ""}}
            return gpu_report.mpirun_section(work, phases)

    def test_unavailable_is_said_plainly_and_not_ok(self):
        text = self.section("mpirun phase: unavailable (no Open MPI at build-gpu/openmpi: ...)\n",
                            status="failed", rc="3")
        self.assertIn("failed (exit 3)", text)
        self.assertIn("mpirun phase: unavailable (no Open MPI", text)

    def test_the_last_verdict_line_is_shown(self):
        log = "$ mpirun -np 2 ...\nstep 20/20  loss 2.1\nmpirun phase: bitwise equal: mpirun -np 2 ...\n"
        text = self.section(log)
        self.assertIn(": ok", text)
        self.assertIn("mpirun phase: bitwise equal", text)

    def test_no_log_is_no_verdict(self):
        self.assertIn("mpirun phase: no verdict printed", self.section(None, status="timeout"))


CONV = gpu_report.CONV_GOAL_SHAPE


def bench_row(name, label="", **counters):
    return dict({"name": name + "/manual_time", "run_name": name + "/manual_time", "run_type": "iteration",
                 "label": label}, **counters)


class NewGoals(unittest.TestCase):
    """TF32 GEMM and conv, FP32 GEMM at 90% (4096^3 and 8192^3), the graphed step against PyTorch
    eager and PyTorch CUDA graphs: met, MISSED and unmeasured from fixture JSON, as gpu_check.sh
    leaves it in OUT."""

    BENCH = [
        bench_row("BM_gemm_NN/v:4/4096x4096x4096", "default", median_ms=3.0, **{"GFLOP/s": 46000.0,
                                                                               "pct_peak": 68.8}),
        bench_row("BM_gemm_NN/v:4/8192x8192x8192", "default", error_occurred=True,
                  error_message="not timed, validation failed: gemm_NN/v4 8192x8192x8192 sampled"),
        bench_row("BM_gemm_tf32_NN/v:1/4096x4096x4096", "", median_ms=1.0, **{"GFLOP/s": 100000.0}),
        bench_row("BM_gemm_tf32_NN/v:2/4096x4096x4096", "default", median_ms=0.5,
                  **{"GFLOP/s": 300000.0, "pct_peak": 56.0}),
        bench_row(f"BM_conv2d_tf32_forward/v:1/{CONV}", "", median_ms=1.0, **{"GFLOP/s": 100000.0}),
        bench_row("BM_train_step_graph/seed_pool/batch:32", "default", median_ms=0.1),
    ]
    BASELINES = [
        {"name": "matmul_fp32_NN/4096x4096x4096", "median_ms": 2.7, "GFLOP/s": 50000.0, "math": "fp32"},
        {"name": "matmul_fp32_NN/8192x8192x8192", "median_ms": 22.0, "GFLOP/s": 50000.0, "math": "fp32"},
        {"name": "matmul_tf32_NN/4096x4096x4096", "median_ms": 0.4, "GFLOP/s": 400000.0, "math": "tf32"},
        {"name": f"cudnn_conv2d_forward_tf32/{CONV}", "median_ms": 0.5, "GFLOP/s": 200000.0, "math": "tf32"},
        {"name": "torch_train_step_seed_pool/batch:32", "median_ms": 0.6, "math": "fp32"},
        {"name": "torch_train_step_graph_seed_pool/batch:32", "median_ms": 0.12, "math": "fp32"},
    ]

    def report_parts(self, bench, baselines):
        with tempfile.TemporaryDirectory() as out:
            with open(os.path.join(out, "bench_cuda.json"), "w") as f:
                json.dump({"context": {}, "benchmarks": bench}, f)
            with open(os.path.join(out, "baselines.json"), "w") as f:
                json.dump({"context": {}, "results": baselines}, f)
            rows, err, _ = gpu_report.load_bench_file(os.path.join(out, "bench_cuda.json"))
            base, base_err, _ = gpu_report.load_baselines_file(os.path.join(out, "baselines.json"))
        self.assertEqual((err, base_err), ("", ""))
        return rows, base

    def goal_rows(self, bench, baselines):
        rows, base = self.report_parts(bench, baselines)
        text, summary = gpu_report.goals_section(rows, base, None, "", "")
        cells = {}
        for line in text.splitlines()[2:]:
            parts = [c.strip() for c in line.strip("|").split(" | ")]
            cells[parts[0]] = parts
        return cells, summary

    def test_verdicts(self):
        cells, summary = self.goal_rows(self.BENCH, self.BASELINES)
        expected = {
            "FP32 GEMM >= 90% of cuBLAS SGEMM at 4096^3": ("met", "92.0%"),
            "FP32 GEMM >= 90% of cuBLAS SGEMM at 8192^3": ("unmeasured: ours: not timed, validation failed", "-"),
            "TF32 GEMM >= 70% of cuBLAS TF32 at 4096^3": ("met", "75.0%"),
            "TF32 conv forward >= 70% of cuDNN TF32": ("MISSED", "50.0%"),
            "seed-pool graph step, batch 32 >= 5x faster than PyTorch eager": ("met", "6.00x"),
            "seed-pool graph step, batch 32 >= 1.5x faster than PyTorch CUDA graphs": ("MISSED", "1.20x"),
        }
        for goal, (verdict, ratio) in expected.items():
            self.assertIn(goal, cells)
            self.assertTrue(cells[goal][-1].startswith(verdict), f"{goal}: {cells[goal]}")
            self.assertEqual(cells[goal][4], ratio, goal)
        # The labelled default is chosen over the other version; an unlabelled op says who stood in.
        self.assertEqual(cells["TF32 GEMM >= 70% of cuBLAS TF32 at 4096^3"][1], "BM_gemm_tf32_NN/v:2/4096x4096x4096")
        self.assertIn("no row labelled default", cells["TF32 conv forward >= 70% of cuDNN TF32"][1])
        self.assertIn(f"of {len(gpu_report.GOALS)})", summary)

    def test_missing_figures_are_unmeasured_never_met(self):
        baselines = [b for b in self.BASELINES if not b["name"].startswith("matmul_tf32")]
        baselines = [dict(b, error="RuntimeError: capture failed") if "graph" in b["name"] else b
                     for b in baselines]
        bench = [b for b in self.BENCH if "conv2d_tf32" not in b["name"]]
        cells, _ = self.goal_rows(bench, baselines)
        self.assertTrue(cells["TF32 GEMM >= 70% of cuBLAS TF32 at 4096^3"][-1].startswith(
            "unmeasured: no baseline figure"), cells["TF32 GEMM >= 70% of cuBLAS TF32 at 4096^3"])
        self.assertTrue(cells["TF32 conv forward >= 70% of cuDNN TF32"][-1].startswith(
            "unmeasured: no ours figure"))
        graph = cells["seed-pool graph step, batch 32 >= 1.5x faster than PyTorch CUDA graphs"][-1]
        self.assertTrue(graph.startswith("unmeasured: baseline: RuntimeError: capture failed"), graph)
        self.assertEqual(cells["seed-pool graph step, batch 32 >= 5x faster than PyTorch eager"][-1], "met")

    def test_every_row_against_its_own_math_and_each_goal_its_own_baseline(self):
        rows, base = self.report_parts(self.BENCH, self.BASELINES)
        self.assertEqual(gpu_report.baseline_for(rows["BM_gemm_tf32_NN/v:2/4096x4096x4096"]),
                         ("matmul_tf32_NN/4096x4096x4096", "rate"))
        self.assertEqual(gpu_report.baseline_for(rows[f"BM_conv2d_tf32_forward/v:1/{CONV}"]),
                         (f"cudnn_conv2d_forward_tf32/{CONV}", "rate"))
        self.assertEqual(gpu_report.baseline_for(rows["BM_gemm_NN/v:4/4096x4096x4096"]),
                         ("matmul_fp32_NN/4096x4096x4096", "rate"))
        text = gpu_report.bench_section(rows, base, None)
        graph = next(l for l in text.splitlines() if "BM_train_step_graph" in l)
        self.assertTrue(graph.rstrip(" |").endswith("met, MISSED"), graph)  # 6x eager, 1.2x graphs
        gemm = next(l for l in text.splitlines() if "BM_gemm_NN/v:4/4096x4096x4096" in l)
        self.assertIn("| 68.8% |", gemm)  # the pct_peak counter
        self.assertTrue(gemm.rstrip(" |").endswith("met, met"), gemm)  # 92% >= 85% and >= 90%


if __name__ == "__main__":
    unittest.main()
