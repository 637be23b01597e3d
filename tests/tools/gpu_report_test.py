#!/usr/bin/python3
"""Tests of tools/gpu_report.py's compute-sanitizer verdicts (ctest: tools.gpu_report).

The report runs on a lent GPU, once, with no second chance: each summary line
that compute-sanitizer prints (memcheck/synccheck's ERROR SUMMARY, racecheck's
RACECHECK SUMMARY), a timeout, a refused device and a filter that matched
nothing must each give the right verdict here, on the CPU. "passed" only for
zero errors over tests that ran. Standard library only.
Run: /usr/bin/python3 tests/tools/gpu_report_test.py
"""
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


if __name__ == "__main__":
    unittest.main()
