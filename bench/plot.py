#!/usr/bin/env python3
"""Draws every CUDA kernel's performance as a percentage of its baseline.

    python3 bench/plot.py BENCH_JSON BASELINES_JSON [-o bench_vs_baseline.png] [--default-only]

BENCH_JSON is bench_kernels_cuda's --benchmark_out file, BASELINES_JSON the
output of bench/baselines/torch_gpu_baselines.py, both from the same GPU (a
ratio across cards means nothing). Each bar is one benchmark: GEMM and conv
as GFLOP/s over cuBLAS/cuDNN (FP32), cross-entropy and the training step as
baseline time over ours, the memory-bound kernels as GB/s over the float4
copy kernel of the same run. A tick marks the issue's goal where one applies;
a benchmark that was not timed (validation failed) or has no baseline is
listed under the bars instead. The pairing rules are tools/gpu_report.py's,
so the picture and the report agree.

Needs matplotlib (Debian: python3-matplotlib; the GPU machine's python3 has it).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import gpu_report  # noqa: E402  (the pairing of benchmarks, baselines and goals)


def bars(bench, baselines, default_only):
    copy_row = gpu_report.find_bench(bench, gpu_report.COPY[0], None, gpu_report.COPY[1])
    shown, left_out = [], []
    for name in sorted(bench, key=lambda n: (bench[n]["op"], bench[n]["shape"], int(bench[n]["version"] or 0))):
        row = bench[name]
        if default_only and row["version"] and row.get("label") != "default":
            continue
        base_name, kind = gpu_report.baseline_for(row)
        ratio, _, _, reason = gpu_report.compare(row, baselines.get(base_name) if base_name else None,
                                                 kind, copy_row)
        if ratio is None:
            left_out.append(f"{name}: {reason}")
            continue
        targets = [t for _, t, same_kind in gpu_report.goals_for(row, kind) if same_kind]
        against = {"of_copy": "copy kernel", "speedup": "PyTorch"}.get(kind) or \
            ("cuBLAS" if row["op"].startswith("gemm") else "cuDNN" if row["op"].startswith("conv") else "torch copy")
        shown.append((name, 100.0 * ratio, 100.0 * targets[0] if targets else None, against))
    return shown, left_out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench_json")
    parser.add_argument("baselines_json")
    parser.add_argument("-o", "--out", default="bench_vs_baseline.png")
    parser.add_argument("--default-only", action="store_true", help="only each op's default version")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        sys.exit(f"plot.py: matplotlib is not importable with {sys.executable} ({e}); "
                 "install python3-matplotlib or run with a python that has it")
    bench, err, context = gpu_report.load_bench_file(args.bench_json)
    if bench is None:
        sys.exit(f"plot.py: {args.bench_json}: {err}")
    baselines, err, base_context = gpu_report.load_baselines_file(args.baselines_json)
    if baselines is None:
        sys.exit(f"plot.py: {args.baselines_json}: {err}")
    shown, left_out = bars(bench, baselines, args.default_only)
    if not shown:
        sys.exit("plot.py: no benchmark has both a figure and a baseline:\n  " + "\n  ".join(left_out))

    height = 1.5 + 0.28 * len(shown) + 0.2 * len(left_out)
    fig, ax = plt.subplots(figsize=(11, height))
    y = list(range(len(shown)))[::-1]
    colors = ["tab:green" if t is None or pct >= t else "tab:red" for _, pct, t, _ in shown]
    ax.barh(y, [pct for _, pct, _, _ in shown], color=colors, height=0.7)
    for yi, (name, pct, target, against) in zip(y, shown):
        ax.text(pct + 1, yi, f"{pct:.0f}% of {against}", va="center", fontsize=7)
        if target is not None:
            ax.plot([target, target], [yi - 0.4, yi + 0.4], color="black", linewidth=2)
    ax.set_yticks(y)
    ax.set_yticklabels([name for name, _, _, _ in shown], fontsize=7)
    ax.axvline(100, color="gray", linestyle="--", linewidth=0.8)
    ax.set_xlabel("% of baseline (performance; black tick: the issue's goal; red: below it)")
    gpu = context.get("gpu") or base_context.get("gpu") or "unknown GPU"
    ax.set_title(f"cudp CUDA kernels vs baselines on {gpu} (medians; torch {base_context.get('torch', '?')})",
                 fontsize=10)
    if left_out:
        names = ", ".join(item.split(": ")[0] for item in left_out)
        fig.text(0.01, 0.005, f"Not drawn ({len(left_out)}; see the report for why): {names}"[:1200],
                 fontsize=6, wrap=True, va="bottom")
    fig.tight_layout(rect=(0, min(0.15, 0.02 + 0.004 * len(left_out)), 1, 1))
    fig.savefig(args.out, dpi=120)
    print(f"plot.py: wrote {args.out} ({len(shown)} bars, {len(left_out)} left out)")


if __name__ == "__main__":
    main()
