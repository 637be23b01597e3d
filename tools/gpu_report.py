#!/usr/bin/env python3
"""Merges what tools/gpu_check.sh collected into one markdown report.

    python3 tools/gpu_report.py --work WORK --out-dir OUT [--build B --mode M ...]

Reads WORK/phases.tsv (one line per phase: name, status, rc, seconds, limit,
detail), WORK/card.csv (nvidia-smi), WORK/{memcheck,racecheck,synccheck,memcheck_graph}.log,
WORK/{train_cuda,first_steps_cpu,first_steps_cuda,train_dp,train_ddp,train_fmnist,
tests_parallel,mpirun}.log, and from OUT the
GoogleTest JSON (tests_cuda.json), the Google Benchmark JSON (bench_cuda.json)
and the PyTorch baselines (baselines.json); writes OUT/report.md (whole or not
at all). Standard library only: it runs on any python3.

The rules a reader would get wrong:
- a sanitizer is "passed" only when it printed its ERROR SUMMARY with 0 errors
  AND at least one test ran and passed and none failed (skips are counted
  aloud); a refused device, a crash, a timeout, an empty filter or an
  all-skipped run is "unavailable" or "not passed";
- a benchmark that refused to time (validation failed) shows its reason, and
  a goal whose figure is missing is "unmeasured", never met;
- figures are the benchmarks' median-based counters (the median aggregate
  when the run had repetitions); ratios are taken within this one run.
"""
import argparse
import csv
import datetime
import json
import os
import re
import sys
import tempfile

CONV_GOAL_SHAPE = "N128_C64_32x32_K64_R3_pad1"
COPY = ("copy_float4", "256MiB")

# (goal text, our op, version, shape, baseline, kind, target)
# version: a number, None (an unversioned benchmark), or "default": the row that
# bench_kernels_cuda labels "default" (add_benchmark's is_default, v ==
# cuda::<op>_default_version(); the TF32 ops' rows must pass
# cuda::gemm_tf32_default_version() and cuda::conv2d_tf32_default_version()).
# Where no row of the op carries the label the newest version stands in, and
# the goals table says so.
# kind "rate": ours / baseline on the metric; "speedup": baseline time / our time;
# "of_copy": our GB/s / the float4 copy kernel's GB/s in the same run.
# Math: FP32 rows against FP32 baselines (TF32 off for cuBLAS and cuDNN), rows
# named *tf32* against TF32 baselines; the graphed step (BM_train_step_graph) is
# FP32, against PyTorch's FP32 eager and FP32 CUDA-graph steps.
GOALS = [
    ("GEMM v4 >= 85% of cuBLAS SGEMM at 4096^3", "gemm_NN", "4", "4096x4096x4096",
     "matmul_fp32_NN/4096x4096x4096", "rate", 0.85),
    ("FP32 GEMM >= 90% of cuBLAS SGEMM at 4096^3", "gemm_NN", "default", "4096x4096x4096",
     "matmul_fp32_NN/4096x4096x4096", "rate", 0.90),
    ("FP32 GEMM >= 90% of cuBLAS SGEMM at 8192^3", "gemm_NN", "default", "8192x8192x8192",
     "matmul_fp32_NN/8192x8192x8192", "rate", 0.90),
    ("TF32 GEMM >= 70% of cuBLAS TF32 at 4096^3", "gemm_tf32_NN", "default", "4096x4096x4096",
     "matmul_tf32_NN/4096x4096x4096", "rate", 0.70),
    ("TF32 GEMM v2 (wgmma) >= 70% of cuBLAS TF32 at 4096^3", "gemm_tf32_NN", "2", "4096x4096x4096",
     "matmul_tf32_NN/4096x4096x4096", "rate", 0.70),
    ("TF32 conv forward >= 70% of cuDNN TF32", "conv2d_tf32_forward", "default", CONV_GOAL_SHAPE,
     "cudnn_conv2d_forward_tf32/" + CONV_GOAL_SHAPE, "rate", 0.70),
    ("GEMM v6 >= 90% of cuBLAS SGEMM at 4096^3", "gemm_NN", "6", "4096x4096x4096",
     "matmul_fp32_NN/4096x4096x4096", "rate", 0.90),
    ("GEMM v6 >= 90% of cuBLAS SGEMM at 8192^3", "gemm_NN", "6", "8192x8192x8192",
     "matmul_fp32_NN/8192x8192x8192", "rate", 0.90),
    ("conv2d forward >= 70% of cuDNN (FP32)", "conv2d_forward", "default", CONV_GOAL_SHAPE,
     "cudnn_conv2d_forward_fp32/" + CONV_GOAL_SHAPE, "rate", 0.70),
    ("conv2d backward-data >= 65% of cuDNN (FP32)", "conv2d_backward_data", "default", CONV_GOAL_SHAPE,
     "cudnn_conv2d_backward_data_fp32/" + CONV_GOAL_SHAPE, "rate", 0.65),
    ("conv2d backward-weight >= 55% of cuDNN (FP32)", "conv2d_backward_weight", "default", CONV_GOAL_SHAPE,
     "cudnn_conv2d_backward_weight_fp32/" + CONV_GOAL_SHAPE, "rate", 0.55),
    ("ReLU forward >= 90% of copy bandwidth", "relu_forward", "default", "256MiB", None, "of_copy", 0.90),
    ("ReLU backward >= 90% of copy bandwidth", "relu_backward", "default", "256MiB", None, "of_copy", 0.90),
    ("max-pool forward >= 90% of copy bandwidth", "maxpool2d_forward", "default", "256x64x64x64_k2s2",
     None, "of_copy", 0.90),
    ("max-pool backward >= 90% of copy bandwidth", "maxpool2d_backward", "default", "256x64x64x64_k2s2",
     None, "of_copy", 0.90),
    ("SGD momentum >= 90% of copy bandwidth", "sgd_momentum", "default", "67108864", None, "of_copy", 0.90),
    ("cross-entropy fwd+bwd [8192,1000] >= 2x faster than PyTorch", "cross_entropy", "default", "8192x1000",
     "torch_cross_entropy_fwd_bwd/8192x1000", "speedup", 2.0),
    ("SGD momentum over 64M params >= 1.5x faster than foreach", "sgd_momentum", "default", "67108864",
     "torch_sgd_foreach_momentum/67108864", "speedup", 1.5),
    ("seed-pool training step, batch 32 >= 2x faster than PyTorch eager", "train_step", None,
     "seed_pool/batch:32", "torch_train_step_seed_pool/batch:32", "speedup", 2.0),
    ("seed-pool graph step, batch 32 >= 5x faster than PyTorch eager", "train_step_graph", None,
     "seed_pool/batch:32", "torch_train_step_seed_pool/batch:32", "speedup", 5.0),
    ("seed-pool graph step, batch 32 >= 1.5x faster than PyTorch CUDA graphs", "train_step_graph", None,
     "seed_pool/batch:32", "torch_train_step_graph_seed_pool/batch:32", "speedup", 1.5),
]


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def read_json(path):
    text = read_text(path)
    if text is None:
        return None, "missing"
    try:
        return json.loads(text), ""
    except ValueError as e:
        return None, f"unreadable JSON ({e})"


def fmt(x, digits=3):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.0f}" if abs(x) >= 100 else f"{x:.{digits}g}"
    return str(x)


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- phases, card

def read_phases(work):
    phases = {}
    for line in (read_text(os.path.join(work, "phases.tsv")) or "").splitlines():
        parts = line.split("\t") + [""] * 6
        phases[parts[0]] = {"status": parts[1], "rc": parts[2], "seconds": parts[3],
                            "limit": parts[4], "detail": parts[5]}
    return phases


def phase_note(phases, name):
    p = phases.get(name)
    if p is None:
        return "not run"
    if p["status"] == "ok":
        return "ok"
    if p["status"] == "timeout":
        return f"timed out after {p['limit']} s"
    if p["status"] in ("missing", "skipped"):
        return f"{p['status']}: {p['detail']}"
    return f"failed (exit {p['rc']})"


def read_card(work):
    text = read_text(os.path.join(work, "card.csv"))
    if not text:
        return None
    rows = list(csv.reader(text.strip().splitlines()))
    if len(rows) < 2 or len(rows[1]) < 3:
        return None
    return {"name": rows[1][0].strip(), "driver": rows[1][1].strip(), "memory": rows[1][2].strip()}


# ---------------------------------------------------------------- tests

def skip_reasons(log):
    """{test: message} from the console: the last line gtest printed between RUN and SKIPPED."""
    reasons, current, lines = {}, None, []
    for line in (log or "").splitlines():
        m = re.match(r"\[ RUN      \] (\S+)", line)
        if m:
            current, lines = m.group(1), []
            continue
        m = re.match(r"\[  SKIPPED \] (\S+) \(", line)
        if m and m.group(1) == current:
            text = [l.strip() for l in lines if l.strip() and not l.strip().endswith("Skipped")]
            reasons[current] = text[-1] if text else ""
            current = None
        elif current:
            lines.append(line)
    return reasons


def test_section(out_dir, work, phases):
    reasons = skip_reasons(read_text(os.path.join(work, "tests.log")))
    data, err = read_json(os.path.join(out_dir, "tests_cuda.json"))
    if data is None:
        return f"test_cuda: no results ({err}; phase: {phase_note(phases, 'tests')})", \
            ["test_cuda: NO RESULTS (" + phase_note(phases, "tests") + ")"]
    rows, failing, skipped = [], [], []
    total = {"tests": 0, "passed": 0, "failed": 0, "skipped": 0}
    for suite in data.get("testsuites", []):
        counts = {"tests": 0, "passed": 0, "failed": 0, "skipped": 0}
        for t in suite.get("testsuite", []):
            name = f"{suite.get('name')}.{t.get('name')}"
            counts["tests"] += 1
            if t.get("failures"):
                counts["failed"] += 1
                first = t["failures"][0].get("failure", "").strip().splitlines()
                failing.append(f"{name}: {' '.join(first[:3])[:300]}")
            elif t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN":
                counts["skipped"] += 1
                skipped.append((name, reasons.get(name, "")))
            else:
                counts["passed"] += 1
        rows.append([suite.get("name"), counts["tests"], counts["passed"], counts["failed"], counts["skipped"]])
        for k in total:
            total[k] += counts[k]
    text = [table(["suite", "tests", "passed", "failed", "skipped"], rows)]
    if failing:
        text.append("\nFailing tests:\n" + "\n".join(f"- {f}" for f in failing))
    if skipped:  # grouped by reason: a GPU-less run skips every test for the same one
        by_reason = {}
        for name, reason in skipped:
            by_reason.setdefault(reason or "(no reason printed)", []).append(name)
        text.append("\nSkipped tests (a skip is not a pass):\n" + "\n".join(
            f"- {len(names)} skipped, {reason}: {', '.join(names)}" for reason, names in by_reason.items()))
    summary = (f"test_cuda: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped "
               f"of {total['tests']}")
    if total["tests"] and total["skipped"] == total["tests"]:
        summary += " - EVERY TEST SKIPPED: nothing was checked on a GPU"
    if phases.get("tests", {}).get("status") not in (None, "ok") and not total["failed"]:
        summary += f" (phase {phase_note(phases, 'tests')})"
    return "\n".join(text), [summary]


# ---------------------------------------------------------------- sanitizers

UNAVAILABLE = re.compile(r"device not supported|not supported on|unable to (find|launch|load|initialize)|"
                         r"injection library|failed to (initialize|launch|attach)|cudaErrorUnknown|error 999",
                         re.IGNORECASE)


def sanitizer_verdict(tool, work, phases):
    p = phases.get(tool)
    log = read_text(os.path.join(work, f"{tool}.log"))
    if p is None:
        return "not run", ""
    if p["status"] == "missing" and "compute-sanitizer" in p["detail"]:
        return f"sanitizer unavailable: {p['detail']}", ""
    if p["status"] in ("missing", "skipped"):
        return f"not run: {p['detail']}", ""
    log = log or ""
    ran = re.search(r"\[==========\] (\d+) tests? from .* ran", log)
    ran = int(ran.group(1)) if ran else 0
    passed = re.search(r"\[  PASSED  \] (\d+) test", log)
    passed = int(passed.group(1)) if passed else 0
    skipped = re.search(r"\[  SKIPPED \] (\d+) test", log)
    skipped = int(skipped.group(1)) if skipped else 0
    failed = re.search(r"\[  FAILED  \] (\d+) tests?, listed below", log)
    failed = int(failed.group(1)) if failed else 0
    detail = f"{ran} tests ran, {passed} passed, {failed} failed, {skipped} skipped"
    refused = UNAVAILABLE.search(log)
    if refused:
        line = log[log.rfind("\n", 0, refused.start()) + 1:].split("\n", 1)[0].strip("= ")
        return f"sanitizer unavailable: {line}", detail
    # memcheck and synccheck end with "ERROR SUMMARY: N errors"; racecheck with
    # "RACECHECK SUMMARY: H hazards displayed (E errors, W warnings)".
    summary = re.search(r"ERROR SUMMARY: (\d+) errors?", log)
    race = re.search(r"RACECHECK SUMMARY: \d+ hazards? displayed \((\d+) errors?, (\d+) warnings?\)", log)
    if p["status"] == "timeout":
        return f"not passed: timed out after {p['limit']} s (incomplete)", detail
    if summary is None and race is None:
        tail = " / ".join(l.strip() for l in log.strip().splitlines()[-3:])
        return f"sanitizer unavailable: no ERROR SUMMARY (exit {p['rc']}): {tail}", detail
    errors = int(summary.group(1)) if summary else int(race.group(1)) + int(race.group(2))
    if errors:
        first = [l.strip("= ").strip() for l in log.splitlines()
                 if l.startswith("=========") and re.search(r"Invalid|Race|Barrier|error|hazard", l, re.I)]
        what = f"{errors} errors" if summary else f"{race.group(1)} errors, {race.group(2)} warnings"
        return f"FAILED: {what}" + (f" (first: {first[0]})" if first else ""), detail
    if ran == 0:
        return "not passed: no test ran (the gtest filter matched nothing)", detail
    if skipped == ran:
        return "sanitizer unavailable: every test skipped under it (the GPU was not visible)", detail
    if failed:
        return f"not passed: 0 sanitizer errors, but {failed} tests failed under it", detail
    if skipped:
        return f"passed: 0 errors ({skipped} tests skipped, not checked)", detail
    return "passed: 0 errors", detail


# ---------------------------------------------------------------- benchmarks

NAME = re.compile(r"^BM_(?P<op>[^/]+)(?:/v:(?P<v>\d+))?/(?P<shape>.+)$")


def load_bench_file(path):
    """({name: row}, error, context) from a Google Benchmark JSON file; rows carry op, version, shape."""
    data, err = read_json(path)
    if data is None:
        return None, err, {}
    rows = {}
    has_aggregates = any(b.get("run_type") == "aggregate" for b in data.get("benchmarks", []))
    for b in data.get("benchmarks", []):
        name = re.sub(r"/manual_time$", "", b.get("run_name", b.get("name", "")))
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if has_aggregates and b.get("run_type") != "aggregate" and not b.get("error_occurred"):
            continue
        if name in rows and not rows[name].get("error_occurred"):
            continue
        m = NAME.match(name)
        if not m:
            continue
        rows[name] = dict(b, name=name, op=m.group("op"), version=m.group("v"), shape=m.group("shape"))
    return rows, "", data.get("context", {})


def load_baselines_file(path):
    """({name: result}, error, context) from torch_gpu_baselines.py's JSON."""
    data, err = read_json(path)
    if data is None:
        return None, err, {}
    return {r["name"]: r for r in data.get("results", []) if "name" in r}, "", data.get("context", {})


def load_bench(out_dir, work):
    rows, err, context = load_bench_file(os.path.join(out_dir, "bench_cuda.json"))
    if rows is None:
        said = (read_text(os.path.join(work, "bench.log")) or "").strip().splitlines()
        err += f"; the benchmark said: {said[0]}" if said else ""
    return rows, err, context


def load_baselines(out_dir):
    return load_baselines_file(os.path.join(out_dir, "baselines.json"))


def metric_of(row):
    for m in ("GFLOP/s", "GB/s"):
        if row.get(m) is not None:
            return m, row[m]
    return None, None


def find_bench(bench, op, version, shape):
    """The row of (op, version, shape); version "default" is the row labelled so, else the newest."""
    candidates = [r for r in bench.values() if r["op"] == op and r["shape"] == shape]
    if version is None:
        return candidates[0] if candidates else None
    if version == "default":
        labelled = [r for r in candidates if r.get("label") == "default"]
        if labelled:
            return labelled[0]
        candidates.sort(key=lambda r: int(r["version"] or 0))
        return candidates[-1] if candidates else None
    return next((r for r in candidates if r["version"] == version), None)


def why_missing(row, what):
    if row is None:
        return f"no {what} figure in this run"
    return f"{what}: " + (row.get("error_message") or row.get("error") or "no figure")


def compare(row, base, kind, copy_row):
    """(ratio, our figure text, baseline text, reason if unmeasured)."""
    if row is None or row.get("error_occurred"):
        return None, "-", "-", why_missing(row, "ours")
    metric, ours = metric_of(row)
    if kind == "of_copy":
        if copy_row is None or copy_row.get("error_occurred") or not copy_row.get("GB/s"):
            return None, f"{fmt(row.get('GB/s'))} GB/s", "-", why_missing(copy_row, "BM_copy_float4")
        return row["GB/s"] / copy_row["GB/s"], f"{fmt(row['GB/s'])} GB/s", \
            f"{fmt(copy_row['GB/s'])} GB/s", ""
    if base is None or base.get("error") or not base.get("median_ms"):
        return None, f"{fmt(ours)} {metric or ''}", "-", why_missing(base, "baseline")
    if kind == "speedup":
        return base["median_ms"] / row["median_ms"], f"{fmt(row['median_ms'])} ms", \
            f"{fmt(base['median_ms'])} ms", ""
    if metric is None or base.get(metric) is None:
        return None, "-", "-", "no common metric"
    return ours / base[metric], f"{fmt(ours)} {metric}", f"{fmt(base[metric])} {metric}", ""


def baseline_for(row):
    """(baseline name or None, kind) pairing any benchmark row with what it is compared to:
    FP32 rows with FP32 baselines, gemm_tf32_* and conv2d_tf32_* with TF32 ones."""
    op, shape = row["op"], row["shape"]
    if op.startswith("gemm_tf32_"):
        return f"matmul_tf32_{op[len('gemm_tf32_'):]}/{shape}", "rate"
    if op.startswith("gemm_"):
        return f"matmul_fp32_{op[5:]}/{shape}", "rate"
    if op.startswith("conv2d_tf32_"):
        return f"cudnn_conv2d_{op[len('conv2d_tf32_'):]}_tf32/{shape}", "rate"
    if op.startswith("conv2d_"):
        return f"cudnn_{op}_fp32/{shape}", "rate"
    if op == "copy_float4":
        return f"torch_copy/{shape}", "rate"
    if op == "cross_entropy":
        return f"torch_cross_entropy_fwd_bwd/{shape}", "speedup"
    if op == "train_step":
        return "torch_train_step_seed_pool/batch:32", "speedup"
    if op == "train_step_graph":
        return "torch_train_step_graph_seed_pool/batch:32", "speedup"
    return None, "of_copy"


def goals_for(row):
    """The goals on this row's op and shape whose version this row is: [(text, baseline, kind, target)]."""
    found = []
    for text, op, version, shape, base_name, goal_kind, target in GOALS:
        if op != row["op"] or shape != row["shape"]:
            continue
        if version is None or version == row["version"] or (version == "default" and row.get("label") == "default"):
            found.append((text, base_name, goal_kind, target))
    return found


def verdict_of(ratio, target):
    return "unmeasured" if ratio is None else ("met" if ratio >= target else "MISSED")


def pct_peak(row):
    """The benchmark's pct_peak counter (bench/gpu_peak.h), as text; "-" without one."""
    value = row.get("pct_peak")
    return "-" if value is None or row.get("error_occurred") else f"{value:.1f}%"


def bench_section(bench, baselines, copy_row):
    rows = []
    for name in sorted(bench, key=lambda n: (bench[n]["op"], bench[n]["shape"], int(bench[n]["version"] or 0))):
        row = bench[name]
        base_name, kind = baseline_for(row)
        base = baselines.get(base_name) if base_name else None
        ratio, ours, theirs, reason = compare(row, base, kind, copy_row)
        goals, verdicts = [], []
        for text, goal_base, goal_kind, target in goals_for(row):  # each goal against its own baseline
            goals.append(text)
            goal_ratio = compare(row, baselines.get(goal_base) if goal_base else None, goal_kind, copy_row)[0]
            verdicts.append(verdict_of(goal_ratio, target))
        if ratio is None:
            ratio_text = reason
        else:
            ratio_text = f"{ratio:.2f}x" if kind == "speedup" else f"{100 * ratio:.1f}%"
        if row.get("error_occurred"):
            ours = "NOT TIMED"
        baseline_text = base_name or "BM_copy_float4 (the ceiling)"
        if theirs != "-":
            baseline_text += f": {theirs}"
        rows.append([name, row.get("label", ""), ours, pct_peak(row), fmt(row.get("median_ms")), baseline_text,
                     ratio_text, "; ".join(goals), ", ".join(verdicts)])
    return table(["benchmark", "label", "ours", "% peak", "median ms", "baseline", "ratio", "goal", "verdict"],
                 rows)


def goals_section(bench, baselines, copy_row, bench_err, base_err):
    rows, met, missed, unmeasured = [], 0, 0, 0
    for text, op, version, shape, base_name, kind, target in GOALS:
        row = find_bench(bench, op, version, shape) if bench is not None else None
        base = baselines.get(base_name) if baselines is not None and base_name else None
        ratio, ours, theirs, reason = compare(row, base, kind, copy_row)
        if bench is None:
            reason = f"no benchmark results ({bench_err})"
        elif base_name and baselines is None and row is not None and not row.get("error_occurred"):
            reason = f"no baseline results ({base_err})"
        if ratio is None:
            verdict, unmeasured = f"unmeasured: {reason}", unmeasured + 1
        elif ratio >= target:
            verdict, met = "met", met + 1
        else:
            verdict, missed = "MISSED", missed + 1
        shown = "-" if ratio is None else (f"{ratio:.2f}x" if kind == "speedup" else f"{100 * ratio:.1f}%")
        target_text = f">= {target}x" if kind == "speedup" else f">= {100 * target:.0f}%"
        label = f"{row['name']}" if row else f"{op} {shape}"
        if row and version == "default" and row.get("label") != "default":
            label += " (no row labelled default: the newest version stands in)"
        rows.append([text, label, ours, theirs, shown, target_text, verdict])
    summary = f"goals: {met} met, {missed} missed, {unmeasured} unmeasured (of {len(GOALS)})"
    return table(["goal", "benchmark", "ours", "baseline", "ratio", "target", "verdict"], rows), summary


# ---------------------------------------------------------------- training

STEP = re.compile(r"step\s+(\d+)/(\d+)\s+loss\s+(\S+)")


def train_section(work, phases):
    out = []
    log = read_text(os.path.join(work, "train_cuda.log"))
    out.append(f"`cudp train --devices cuda:0 --steps 50`: {phase_note(phases, 'train_cuda')}\n")
    out.append("```\n" + ("\n".join((log or "(no output)").strip().splitlines()[-20:])) + "\n```")
    cpu = {int(s): l for s, _, l in STEP.findall(read_text(os.path.join(work, "first_steps_cpu.log")) or "")}
    gpu = {int(s): l for s, _, l in STEP.findall(read_text(os.path.join(work, "first_steps_cuda.log")) or "")}
    rows, worst = [], None
    for step in sorted(set(cpu) | set(gpu)):
        a, b = cpu.get(step), gpu.get(step)
        diff = None
        try:
            diff = abs(float(a) - float(b))
            worst = diff if worst is None or not diff <= worst else worst
        except (TypeError, ValueError):
            pass
        rows.append([step, a or "-", b or "-", fmt(diff)])
    out.append(f"\nFirst steps, same seed, cpu ({phase_note(phases, 'first_steps_cpu')}) vs cuda:0 "
               f"({phase_note(phases, 'first_steps_cuda')}); the log prints 4 decimals:\n")
    out.append(table(["step", "loss cpu", "loss cuda:0", "|difference|"], rows) if rows else "(no steps parsed)")
    summary = "first steps cpu vs cuda:0: " + ("no losses to compare" if worst is None else
                                               f"largest |loss difference| {worst:.2g} over {len(rows)} steps")
    fmnist = read_text(os.path.join(work, "train_fmnist.log"))
    out.append(f"\n`cudp train --data fashion-mnist --devices cuda:0` (the README's recipe, 10 epochs): "
               f"{phase_note(phases, 'train_fmnist')}\n")
    out.append("```\n" + "\n".join((fmnist or "(no output)").strip().splitlines()[-14:]) + "\n```")
    return "\n".join(out), summary


PARALLEL_LINE = re.compile(r"^(level \d.*|\[  (FAILED|PASSED|SKIPPED) .*)$")


def parallel_section(work, phases):
    """tests/test_parallel_cuda's verdicts and tree-edge rates, then dp and ddp on 4 logical devices."""
    log = read_text(os.path.join(work, "tests_parallel.log")) or ""
    kept = [l for l in log.splitlines() if PARALLEL_LINE.match(l)]
    out = [f"`tests/test_parallel_cuda`: {phase_note(phases, 'tests_parallel')}\n",
           "```\n" + ("\n".join(kept) or "(no output)") + "\n```"]
    for run, what in (("train_dp", "--parallel dp"), ("train_ddp", "--parallel ddp --check-replicas")):
        text = read_text(os.path.join(work, f"{run}.log"))
        out.append(f"\n`cudp train --devices cuda:0,0,0,0 {what} --steps 30`: {phase_note(phases, run)}\n")
        out.append("```\n" + "\n".join((text or "(no output)").strip().splitlines()[-5:]) + "\n```")
    out.append(mpirun_section(work, phases))
    return "\n".join(out)


MPIRUN_VERDICT = re.compile(r"^mpirun phase: .*$", re.M)


def mpirun_section(work, phases):
    """tools/gpu_mpirun_check.py's verdict line: two ranks on cuda:0 against one process on cuda:0,0."""
    log = read_text(os.path.join(work, "mpirun.log")) or ""
    found = MPIRUN_VERDICT.findall(log)
    verdict = found[-1] if found else "mpirun phase: no verdict printed"
    return (f"\n`mpirun -np 2 cudp train --devices cuda:0 --steps 20` against one process on cuda:0,0: "
            f"{phase_note(phases, 'mpirun')}\n\n{verdict}\n")


# ---------------------------------------------------------------- report

def build_report(args):
    phases = read_phases(args.work)
    card = read_card(args.work)
    bench, bench_err, bench_ctx = load_bench(args.out_dir, args.work)
    baselines, base_err, base_ctx = load_baselines(args.out_dir)
    copy_row = find_bench(bench, COPY[0], None, COPY[1]) if bench is not None else None
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    card_text = f"{card['name']}, driver {card['driver']}, {card['memory']}" if card else \
        f"unknown (nvidia-smi: {phase_note(phases, 'card')}); the benchmark saw {bench_ctx.get('gpu', 'none')}"
    title = card["name"] if card else bench_ctx.get("gpu", "unknown card")
    lines = [f"# cudp GPU check: {title}, {now}", "",
             f"- card: {card_text}",
             f"- date: {now}; mode: {args.mode} (budget {args.budget} s); build folder: {args.build}",
             f"- PyTorch baselines: torch {base_ctx.get('torch', '?')}, CUDA {base_ctx.get('cuda', '?')}, "
             f"cuDNN {base_ctx.get('cudnn', '?')}, {base_ctx.get('repeats', '?')} repeats" if base_ctx else
             f"- PyTorch baselines: none ({base_err}; phase: {phase_note(phases, 'baselines')})",
             f"- benchmarks: GPU {bench_ctx.get('gpu', '?')}, L2 {bench_ctx.get('gpu_l2_bytes', '?')} bytes, "
             f"flushed with {bench_ctx.get('l2_flush_bytes', '?')} bytes before each timed iteration, "
             f"run {bench_ctx.get('date', '?')}; peak FP32 {bench_ctx.get('peak_gflops_fp32', '?')}, "
             f"TF32 {bench_ctx.get('peak_gflops_tf32', '?')} GFLOP/s ({bench_ctx.get('gpu_sms', '?')} SMs, "
             f"{bench_ctx.get('gpu_clock', '?')})" if bench_ctx else
             f"- benchmarks: none ({bench_err}; phase: {phase_note(phases, 'bench')})", ""]
    tests_text, tests_summary = test_section(args.out_dir, args.work, phases)
    sanitizer_rows, sanitizer_summary = [], []
    for tool, flt in (("racecheck", args.shmem_filter), ("synccheck", args.shmem_filter),
                      ("memcheck", args.memcheck_filter),
                      ("memcheck_graph", "CudaGraph.* (test_parallel_cuda)")):
        verdict, detail = sanitizer_verdict(tool, args.work, phases)
        sanitizer_rows.append([tool, f"`{flt}`", verdict, detail])
        sanitizer_summary.append(f"{tool}: {verdict}")
    goals_text, goals_summary = goals_section(bench, baselines, copy_row, bench_err, base_err)
    if bench is not None:
        timed = sum(1 for r in bench.values() if not r.get("error_occurred"))
        refused = sum(1 for r in bench.values() if r.get("error_occurred"))
        bench_summary = f"benchmarks: {timed} timed, {refused} not timed (validation failed or error)"
    else:
        bench_summary = f"benchmarks: none ({bench_err}; phase {phase_note(phases, 'bench')})"
    train_text, train_summary = train_section(args.work, phases)

    lines += ["## Summary", ""]
    lines += [f"- {s}" for s in tests_summary + sanitizer_summary + [bench_summary, goals_summary, train_summary]]
    not_ok = [n for n, p in phases.items() if p["status"] != "ok"]
    lines.append(f"- phases not ok: {', '.join(f'{n} ({phase_note(phases, n)})' for n in not_ok)}"
                 if not_ok else "- every phase ran to completion")
    lines += ["", "## Phases", "",
              table(["phase", "status", "exit", "seconds", "limit s", "detail"],
                    [[n, p["status"], p["rc"], p["seconds"], p["limit"], p["detail"]] for n, p in phases.items()]),
              "", "## Tests (tests/test_cuda)", "", tests_text, "",
              "## compute-sanitizer", "",
              "\"passed\" needs an ERROR SUMMARY of 0 errors over tests that ran and were not skipped.", "",
              table(["tool", "gtest filter", "verdict", "tests"], sanitizer_rows), "",
              "## Goals (CUDA kernels issue)", "",
              "Ratios from this one run on this card: rate ratios are ours / baseline, speedups "
              "baseline time / our time (medians), bandwidth goals our GB/s / the float4 copy kernel's.", "",
              goals_text, "", "## Every kernel against its baseline", ""]
    if bench is not None:
        lines.append(bench_section(bench, baselines or {}, copy_row))
        tf32 = [(n, r) for n, r in (baselines or {}).items() if "_tf32" in n and r.get("GFLOP/s")]
        if tf32:
            lines += ["", "Baselines with TF32 on (cuBLAS, cuDNN), with their share of the TF32 peak: " +
                      "; ".join(f"{n}: {fmt(r['GFLOP/s'])} GFLOP/s"
                                + (f" ({r['percent_of_peak']:.1f}%)" if "percent_of_peak" in r else "")
                                for n, r in tf32)]
    else:
        lines.append(f"No benchmark results: {bench_err} (phase: {phase_note(phases, 'bench')}).")
    if baselines:
        extra = [r for r in baselines.values() if r.get("error")]
        if extra:
            lines += ["", "Baselines that failed: " + "; ".join(f"{r['name']}: {r['error']}" for r in extra)]
    lines += ["", "## End to end", "", train_text, "",
              "## Data parallelism on logical devices of one GPU", "", parallel_section(args.work, phases), "",
              "## Files", "", "report.md (this), log.txt (every phase's output), tests_cuda.json, "
              "bench_cuda.json, baselines.json, bench_vs_baseline.png (bench/plot.py; phase plot: "
              f"{phase_note(phases, 'plot')}), sanitizer.log, train.log.", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description="Merge gpu_check.sh's results into report.md")
    parser.add_argument("--work", required=True, help="gpu_check.sh's work folder (phases.tsv, logs)")
    parser.add_argument("--out-dir", required=True, help="folder with the JSON files; report.md goes here")
    parser.add_argument("--build", default="?")
    parser.add_argument("--mode", default="default")
    parser.add_argument("--budget", default="?")
    parser.add_argument("--memcheck-filter", default="*")
    parser.add_argument("--shmem-filter", default="*")
    args = parser.parse_args()
    text = build_report(args)
    path = os.path.join(args.out_dir, "report.md")
    with tempfile.NamedTemporaryFile("w", dir=args.out_dir, delete=False, suffix=".tmp") as f:
        f.write(text)
    os.chmod(f.name, 0o644)
    os.replace(f.name, path)
    print(text.split("## Phases")[0])  # the summary, for the device tool's output tail


if __name__ == "__main__":
    sys.exit(main())
