#!/usr/bin/python3
"""The seed-pool training step in PyTorch on the CPU: the baseline of `cudp train` on `cpu`.

What it measures: samples/s of one SGD step (zero_grad, forward, CrossEntropyLoss,
backward, step) of cudp's `seed-pool` (model/models.cpp) on 3x32x32 inputs, 10
classes, SGD lr 0.001 momentum 0.9 (cudp train's defaults), at batch 32 and 128,
on 1 thread and on all cores, each the median of 5 windows. One JSON object on
stdout (and in --out).

Run it with Debian's interpreter, which sees python3-torch (docs/design.md):
    /usr/bin/python3 bench/baselines/torch_cpu_step.py [--steps 20] [--out file.json]
    /usr/bin/python3 bench/baselines/torch_cpu_step.py --as-installed   # no tuning

The decisions a reader would get wrong, all about giving PyTorch its STRONG setup
(--as-installed turns the last two off, to show what a default install does):
 - Debian's torch takes its BLAS from libblas.so.3, whichever alternative provides
   it; without libopenblas0-pthread that is the reference BLAS, ~20x slower. The
   script refuses to report (exit 1) unless OpenBLAS is mapped into the process.
 - torch.set_num_threads does not reach OpenBLAS's own thread pool: "1 thread"
   would still run the Linear layers on every core. The script calls
   openblas_set_num_threads too (through ctypes), so 1 thread means 1 thread.
 - OPENBLAS_CORETYPE in the environment overrides OpenBLAS's own choice of
   kernels (this workspace sets it to Haswell: AVX2 kernels, about half the
   AVX-512 Cooperlake kernels OpenBLAS picks by itself on this Zen 5). The
   script removes it before torch loads OpenBLAS, and records what it was.
 - glibc returns every large freed block to the OS, and torch's CPU allocator does
   not cache, so each step page-faults its activations in again (in this VM that
   was most of a step at batch 128). The script turns that off with mallopt
   (no mmap'd chunks, no trimming), as a tuned deployment would.
The JSON records all of it: the OpenBLAS core, the allocator setting, torch's
config, whether oneDNN (mkldnn, which Debian's build uses for conv2d) is on, and
the 1024^3 matmul rate on one thread as evidence of the BLAS in use.
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

AS_INSTALLED = "--as-installed" in sys.argv


INHERITED_CORETYPE = os.environ.get("OPENBLAS_CORETYPE")
if not AS_INSTALLED:
    os.environ.pop("OPENBLAS_CORETYPE", None)  # read by OpenBLAS when torch loads it

import torch  # noqa: E402  (after OPENBLAS_CORETYPE is settled)
import torch.nn as nn  # noqa: E402


def seed_pool(in_channels=3, hw=32, classes=10):
    return nn.Sequential(
        nn.Conv2d(in_channels, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(64 * (hw // 4) * (hw // 4), 512), nn.ReLU(),
        nn.Linear(512, classes))


def blas_libraries():
    """Shared objects mapped into this process whose names mention a BLAS."""
    found = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            name = os.path.basename(fields[-1]) if len(fields) >= 6 else ""
            if "blas" in name or "mkl" in name:
                found.add(os.path.realpath(fields[-1]))
    return sorted(found)


def openblas(libs):
    path = next((lib for lib in libs if "openblas" in os.path.basename(lib)), None)
    return ctypes.CDLL(path) if path else None


def tune_allocator():
    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    ok = libc.mallopt(m_mmap_max, 0) == 1
    ok = libc.mallopt(m_trim_threshold, 2**31 - 1) == 1 and ok
    return "glibc, mallopt: no mmap chunks, no trim" if ok else "glibc (mallopt failed)"


def matmul_gflops(n=1024, repeats=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best * 1e-9


def step_rate(batch, steps, warmup=5, windows=5):
    """Median over `windows` windows of `steps` steps each, in samples/s."""
    torch.manual_seed(0)
    net = seed_pool()
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    rates = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - start))
    return statistics.median(rates), rates


def set_threads(threads, blas):
    torch.set_num_threads(threads)
    blas.openblas_set_num_threads(threads)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timing window")
    parser.add_argument("--batches", default="32,128")
    parser.add_argument("--as-installed", action="store_true",
                        help="keep OPENBLAS_CORETYPE and glibc's defaults")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()

    torch.matmul(torch.ones(8, 8), torch.ones(8, 8))  # make sure the BLAS is loaded
    libs = blas_libraries()
    blas = openblas(libs)
    if blas is None:
        print(f"torch_cpu_step: torch is not using OpenBLAS (mapped: {libs}); install "
              "libopenblas0-pthread, or the baseline is the reference BLAS", file=sys.stderr)
        return 1
    blas.openblas_get_corename.restype = ctypes.c_char_p
    allocator = "glibc, as installed" if args.as_installed else tune_allocator()
    all_threads = os.cpu_count() or 1
    set_threads(1, blas)
    result = {
        "torch_version": torch.__version__,
        "setup": "as installed" if args.as_installed else "strong",
        "blas_libraries": libs,
        "openblas_core": blas.openblas_get_corename().decode(),
        "openblas_coretype_inherited": INHERITED_CORETYPE,
        "openblas_coretype_used": os.environ.get("OPENBLAS_CORETYPE"),
        "allocator": allocator,
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available() and
                               torch.backends.mkldnn.enabled),
        "matmul_1024_gflops_1_thread": round(matmul_gflops(), 1),
        "cpu_count": all_threads,
        "load_average_at_start": os.getloadavg(),
        "steps": [],
    }
    for threads in sorted({1, all_threads}):
        set_threads(threads, blas)
        for batch in (int(b) for b in args.batches.split(",")):
            median, rates = step_rate(batch, args.steps)
            result["steps"].append({"threads": threads, "batch": batch,
                                    "samples_per_s": round(median, 1),
                                    "window_samples_per_s": [round(r, 1) for r in rates]})
    result["load_average_at_end"] = os.getloadavg()
    result["torch_config"] = torch.__config__.show()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
