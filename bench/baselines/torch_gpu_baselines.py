#!/usr/bin/env python3
"""The vendor baselines of bench_kernels_cuda, timed through PyTorch on the same GPU.

What a user would pick instead of cudp's kernels: cuBLAS GEMM through
torch.matmul in FP32 (matmul_fp32_<layout>/MxNxK) and TF32
(matmul_tf32_<layout>/MxNxK, same shapes), cuDNN convolution's three passes in
FP32 and TF32 on every shape (cudnn_conv2d_<pass>_<fp32|tf32>/<shape>),
F.cross_entropy forward + backward, torch.optim.SGD's foreach step with
momentum, a device copy (y.copy_(x), the bandwidth ceiling), and the seed-pool
training step at batch 32 four ways: eager and CUDA-graphed, FP32 and TF32
(torch_train_step[_graph][_tf32]_seed_pool/batch:32).

Math, as cudp's modes: "fp32" sets BOTH torch.backends.cuda.matmul.allow_tf32
and torch.backends.cudnn.allow_tf32 to False (cuDNN's default is True, so an
unset flag would time TF32 convolutions as FP32 ones), "tf32" both to True.

The graphed step follows PyTorch's "whole-network capture" recipe
(torch.cuda.graph): static input and target tensors, three warm-up steps on a
side stream (cuDNN autotuning, SGD's momentum buffers and autograd's
workspaces are made there, not in the capture), gradients set to None before
the capture so that the captured backward allocates them from the graph's
pool and each replay overwrites them, then forward, loss, backward, SGD step
and the accuracy count captured as one graph. Each timed step copies the
host batch into the static inputs, replays, and reads loss and accuracy back,
as the eager step and cudp's Trainer do. SGD keeps no step count on the host,
so it needs no capturable flag (it is passed where a PyTorch accepts one).

Peak, on every record with GFLOP/s ("peak_GFLOP/s", "percent_of_peak", for
the record's "math"; the context holds the inputs):
    peak = SMs x flop per SM per clock x SM clock
SMs from torch.cuda.get_device_properties(0).multi_processor_count; the clock
is nvidia-smi's clocks.max.sm (the max SM clock, the same figure as the C++
benchmark's cudaDevAttrClockRate), recorded with its name and MHz. Flop per
SM per clock (an FMA is 2 flops): sm_90 FP32 128 lanes x 2 = 256, dense TF32
1024 FMA x 2 = 2048; sm_80 128 and 1024. Against NVIDIA's published H100 SXM
figures (132 SMs): 132 x 256 x 1.980 GHz = 66.9 TFLOP/s FP32, and
132 x 2048 x 1.830 GHz = 494.7 TFLOP/s dense TF32: the TF32 figure assumes
1830 MHz. We use the max clock for both, so on an H100 at 1980 MHz the TF32
peak here is 535.3 TFLOP/s and a TF32 percentage errs low, never high. No
clock or an architecture not in the table: no peak and no percentage.

Run (on a machine whose python3 has PyTorch with CUDA; tools/gpu_check.sh does):
    python3 bench/baselines/torch_gpu_baselines.py --out baselines.json
    python3 bench/baselines/torch_gpu_baselines.py --repeats 50 --only matmul
It prints JSON to stdout, or writes it to --out (whole or not at all).

Method, as bench_kernels_cuda: CUDA events around the work, warm-up calls
first (cuDNN autotunes there: cudnn.benchmark is on, the best algorithm is the
fair baseline), an L2 flush (a write of max(2 x L2, 64 MiB)) before each timed
call except the training step, the MEDIAN of the repeats. Names and the
FLOP/byte formulas are those of the C++ benchmarks (bench/bench_common.h):
GEMM 2*M*N*K, conv 2*N*K*P*Q*C*R*S, bytes = each input read once + each output
written once. GB/s and GFLOP/s are computed from the median.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile

MIB = 1 << 20
BIG = 64 << 20  # floats: 256 MiB, as kBig in the C++ benchmark
MATHS = ("fp32", "tf32")
# (FP32, dense TF32) flop per SM per clock, by compute capability (bench/gpu_peak.h has the same).
FLOP_PER_SM_CLOCK = {(9, 0): (256, 2048), (8, 0): (128, 1024)}
CLOCK_QUERY = "clocks.max.sm"  # nvidia-smi's name for the max SM clock


def peak_gflops(sms, clock_mhz, capability, math):
    """SMs x flop per SM per clock x clock, in GFLOP/s; None without a clock or a known architecture."""
    rates = FLOP_PER_SM_CLOCK.get(tuple(capability))
    if rates is None or not clock_mhz or not sms:
        return None
    return sms * rates[MATHS.index(math)] * clock_mhz * 1e-3


def add_peaks(records, peaks):
    """Every record with GFLOP/s and a math gets that math's peak and its percentage of it."""
    for r in records:
        peak = peaks.get(r.get("math"))
        if "GFLOP/s" in r and peak:
            r["peak_GFLOP/s"] = peak
            r["percent_of_peak"] = 100.0 * r["GFLOP/s"] / peak
    return records


def read_sm_clock(run=None):
    """(clock name, MHz) of GPU 0's max SM clock from nvidia-smi; (name, None) when it cannot say."""
    import subprocess
    run = run or subprocess.run
    name = f"{CLOCK_QUERY} (nvidia-smi)"
    try:
        done = run(["nvidia-smi", "-i", "0", f"--query-gpu={CLOCK_QUERY}", "--format=csv,noheader,nounits"],
                   capture_output=True, text=True, timeout=30)
        return name, float(done.stdout.strip().splitlines()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return name, None


def set_math(torch, math):
    """fp32: TF32 off for cuBLAS AND cuDNN (cuDNN's default is on); tf32: on for both."""
    torch.backends.cuda.matmul.allow_tf32 = math == "tf32"
    torch.backends.cudnn.allow_tf32 = math == "tf32"


def matmul_name(math, layout, m, n, k):
    return f"matmul_{math}_{layout}/{m}x{n}x{k}"


def cudnn_conv_name(pass_name, math, shape):
    return f"cudnn_conv2d_{pass_name}_{math}/{shape}"


def train_step_name(graph, math):
    """torch_train_step[_graph][_tf32]_seed_pool/batch:32: FP32 eager keeps the name it always had."""
    return f"torch_train_step{'_graph' if graph else ''}{'_tf32' if math == 'tf32' else ''}_seed_pool/batch:32"


def conv_name(n, c, hw, k, r=3, pad=1):
    return f"N{n}_C{c}_{hw}x{hw}_K{k}_R{r}_pad{pad}"


class Timer:
    def __init__(self, torch, warmup, repeats):
        self.torch = torch
        self.warmup = warmup
        self.repeats = repeats
        props = torch.cuda.get_device_properties(0)
        l2 = int(getattr(props, "L2_cache_size", 50 * MIB))
        self.flush_bytes = max(2 * l2, 64 * MIB)
        self.flush = torch.empty(self.flush_bytes // 4, dtype=torch.float32, device="cuda")
        self.start = torch.cuda.Event(enable_timing=True)
        self.stop = torch.cuda.Event(enable_timing=True)

    def median_ms(self, fn, flush_l2=True):
        torch = self.torch
        for _ in range(self.warmup):
            fn()
        torch.cuda.synchronize()
        times = []
        for i in range(self.repeats):
            if flush_l2:
                self.flush.fill_(float(i & 255))
            self.start.record()
            fn()
            self.stop.record()
            self.stop.synchronize()
            times.append(self.start.elapsed_time(self.stop))
        return statistics.median(times), min(times)


def result(name, median_ms, min_ms, flops=0.0, bytes_=0.0, **extra):
    r = {"name": name, "median_ms": median_ms, "min_ms": min_ms}
    if flops:
        r["GFLOP/s"] = flops / (median_ms * 1e-3) * 1e-9
    if bytes_:
        r["GB/s"] = bytes_ / (median_ms * 1e-3) * 1e-9
    r.update(extra)
    return r


MATMUL_SHAPES = [("NN", 8192, 8192, 8192), ("NN", 4096, 4096, 4096), ("NN", 1024, 1024, 1024),
                 ("NT", 1024, 1024, 1024), ("TN", 1024, 1024, 1024), ("NT", 32, 512, 4096),
                 ("NN", 32, 4096, 512), ("TN", 512, 4096, 32)]


# (N, C, H=W, K), 3x3, pad 1: the goal's shape, then seed-pool's conv1 and conv2 at batch 32.
CONV_SHAPES = [(128, 64, 32, 64), (32, 3, 32, 64), (32, 64, 16, 64)]
CONV_PASSES = ("forward", "backward_data", "backward_weight")


def bench_matmul(torch, timer):
    out = []
    for layout, m, n, k in MATMUL_SHAPES:
        # Row-major as cudp: NT's B is [N,K], TN's A is [K,M]; cuBLAS takes the transposes as flags.
        a = torch.randn(k, m, device="cuda").t() if layout == "TN" else torch.randn(m, k, device="cuda")
        b = torch.randn(n, k, device="cuda").t() if layout == "NT" else torch.randn(k, n, device="cuda")
        c = torch.empty(m, n, device="cuda")
        for math in MATHS:
            set_math(torch, math)
            med, lo = timer.median_ms(lambda: torch.matmul(a, b, out=c))
            out.append(result(matmul_name(math, layout, m, n, k), med, lo, 2.0 * m * n * k,
                              4.0 * (m * k + k * n + m * n), math=math,
                              library=f"cuBLAS via torch.matmul, TF32 {'on' if math == 'tf32' else 'off'}"))
        del a, b, c
    set_math(torch, "fp32")
    return out


def bench_conv(torch, timer):
    F = torch.nn.functional
    torch.backends.cudnn.benchmark = True
    out = []
    for n, c, hw, k in CONV_SHAPES:
        x = torch.randn(n, c, hw, hw, device="cuda")
        w = torch.randn(k, c, 3, 3, device="cuda")
        dy = torch.randn(n, k, hw, hw, device="cuda")  # stride 1, pad 1: P = H
        flops = 2.0 * n * k * hw * hw * c * 9
        bytes_ = 4.0 * (x.numel() + w.numel() + dy.numel())
        passes = {
            "forward": lambda: F.conv2d(x, w, padding=1),
            "backward_data": lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=1),
            "backward_weight": lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=1),
        }
        for math in MATHS:
            set_math(torch, math)
            for pass_name, fn in passes.items():
                med, lo = timer.median_ms(fn)
                out.append(result(cudnn_conv_name(pass_name, math, conv_name(n, c, hw, k)), med, lo,
                                  flops, bytes_, math=math,
                                  library=f"cuDNN via torch, TF32 {'on' if math == 'tf32' else 'off'}"))
    set_math(torch, "fp32")
    return out


def bench_cross_entropy(torch, timer):
    F = torch.nn.functional
    n, classes = 8192, 1000
    logits = (torch.rand(n, classes, device="cuda") * 8 - 4).requires_grad_()
    targets = torch.randint(0, classes, (n,), device="cuda")

    def step():
        logits.grad = None
        F.cross_entropy(logits, targets).backward()

    med, lo = timer.median_ms(step)
    return [result(f"torch_cross_entropy_fwd_bwd/{n}x{classes}", med, lo, 0, 8.0 * n * classes + 4.0 * n,
                   library="F.cross_entropy forward + backward (autograd)")]


def bench_sgd(torch, timer):
    # 64M parameters as 16 tensors of 4M: the foreach path batches tensors per launch.
    params = [torch.randn(BIG // 16, device="cuda", requires_grad=True) for _ in range(16)]
    for p in params:
        p.grad = torch.randn_like(p) * 0.01
    out = []
    variants = [("foreach", {"foreach": True}), ("fused", {"fused": True})]
    for label, kwargs in variants:
        try:
            opt = torch.optim.SGD(params, lr=0.001, momentum=0.9, **kwargs)
        except (TypeError, RuntimeError, ValueError) as e:  # fused SGD needs a recent PyTorch
            out.append({"name": f"torch_sgd_{label}_momentum/{BIG}", "error": str(e)})
            continue
        opt.step()  # the first step creates the momentum buffers
        med, lo = timer.median_ms(opt.step)
        out.append(result(f"torch_sgd_{label}_momentum/{BIG}", med, lo, 0, 4.0 * 5 * BIG,
                          library=f"torch.optim.SGD({label}=True), lr 0.001, momentum 0.9"))
    return out


def bench_copy(torch, timer):
    x = torch.randn(BIG, device="cuda")
    y = torch.empty_like(x)
    med, lo = timer.median_ms(lambda: y.copy_(x))
    return [result(f"torch_copy/{BIG * 4 // MIB}MiB", med, lo, 0, 8.0 * BIG, library="y.copy_(x)")]


def seed_pool_net(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):  # seed-pool: the seed article's Net with its evident 2x2 pools
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, padding=1)
            self.conv2 = nn.Conv2d(64, 64, 3, padding=1)
            self.fc1 = nn.Linear(64 * 8 * 8, 512)
            self.fc2 = nn.Linear(512, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc2(F.relu(self.fc1(x)))

    return Net()


def sgd_for_capture(torch, params):
    """SGD(lr 0.001, momentum 0.9); capturable=True only where this PyTorch's SGD takes it."""
    import inspect
    extra = {"capturable": True} if "capturable" in inspect.signature(torch.optim.SGD).parameters else {}
    return torch.optim.SGD(params, lr=0.001, momentum=0.9, **extra)


def train_step_one(torch, timer, math, graph):
    """One seed-pool step at batch 32 (eager or CUDA-graphed) at `math`, timed: a result record."""
    set_math(torch, math)
    torch.manual_seed(0)
    net = seed_pool_net(torch).cuda()
    opt = sgd_for_capture(torch, net.parameters()) if graph else \
        torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    x_host = torch.randn(32, 3, 32, 32)
    y_host = torch.randint(0, 10, (32,))

    if not graph:
        def step():  # as cudp's Trainer: batch from host memory, loss and accuracy back to the host
            x, y = x_host.cuda(), y_host.cuda()
            opt.zero_grad()
            logits = net(x)
            loss = criterion(logits, y)
            loss.backward()
            opt.step()
            return loss.item(), (logits.argmax(1) == y).sum().item()
    else:
        static_x, static_y = x_host.cuda(), y_host.cuda()

        def body():
            logits = net(static_x)
            loss = criterion(logits, static_y)
            loss.backward()
            opt.step()
            return loss, (logits.argmax(1) == static_y).sum()

        side = torch.cuda.Stream()  # warm-up off the capture: autotuning, momentum buffers
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                body()
        torch.cuda.current_stream().wait_stream(side)
        # None before the capture: the captured backward allocates .grad in the graph's pool,
        # so every replay overwrites the gradients instead of adding to stale ones.
        opt.zero_grad(set_to_none=True)
        captured = torch.cuda.CUDAGraph()
        with torch.cuda.graph(captured):
            static_loss, static_correct = body()

        def step():  # the same host traffic as the eager step: batch in, loss and accuracy out
            static_x.copy_(x_host)
            static_y.copy_(y_host)
            captured.replay()
            return static_loss.item(), static_correct.item()

    med, lo = timer.median_ms(step, flush_l2=False)
    how = "torch.cuda.graph replay of forward+loss+backward+SGD" if graph else "eager PyTorch"
    return result(train_step_name(graph, math), med, lo, 0, 0, math=math,
                  **{"samples/s": 32 / (med * 1e-3),
                     "library": f"{how}, SGD(lr 0.001, momentum 0.9), TF32 {'on' if math == 'tf32' else 'off'}"})


def bench_train_step(torch, timer):
    out = []
    for math in MATHS:
        for graph in (False, True):
            try:  # a failed capture must not hide the eager figures
                out.append(train_step_one(torch, timer, math, graph))
            except Exception as e:
                out.append({"name": train_step_name(graph, math), "error": f"{type(e).__name__}: {e}"})
            torch.cuda.synchronize()
    set_math(torch, "fp32")
    return out


BENCHES = {"matmul": bench_matmul, "conv": bench_conv, "cross_entropy": bench_cross_entropy,
           "sgd": bench_sgd, "copy": bench_copy, "train_step": bench_train_step}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per baseline (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first")
    parser.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(BENCHES))
    args = parser.parse_args()
    try:
        import torch
    except ImportError as e:
        sys.exit(f"torch_gpu_baselines.py: PyTorch is not importable with {sys.executable} ({e})")
    if not torch.cuda.is_available():
        sys.exit("torch_gpu_baselines.py: PyTorch sees no CUDA GPU")
    torch.manual_seed(0)
    timer = Timer(torch, args.warmup, args.repeats)
    props = torch.cuda.get_device_properties(0)
    clock_name, clock_mhz = read_sm_clock()
    capability = (props.major, props.minor)
    peaks = {math: peak_gflops(props.multi_processor_count, clock_mhz, capability, math) for math in MATHS}
    report = {
        "context": {
            "gpu": props.name, "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "l2_flush_bytes": timer.flush_bytes,
            "repeats": args.repeats, "warmup": args.warmup,
            "sm_count": props.multi_processor_count, "compute_capability": f"{props.major}.{props.minor}",
            "sm_clock": {"name": clock_name, "MHz": clock_mhz},
            "peak_GFLOP/s": peaks,
            "peak_formula": "SMs x flop per SM per clock (sm_90: FP32 256, dense TF32 2048) x SM clock",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
        "results": [],
    }
    selected = [s for s in args.only.split(",") if s] or list(BENCHES)
    printed = 0
    for key in selected:
        if key not in BENCHES:
            sys.exit(f"torch_gpu_baselines.py: --only: unknown baseline '{key}' (known: {', '.join(BENCHES)})")
        try:
            report["results"].extend(add_peaks(BENCHES[key](torch, timer), peaks))
        except Exception as e:  # one broken baseline must not hide the others
            report["results"].append({"name": key, "error": f"{type(e).__name__}: {e}"})
        torch.cuda.synchronize()
        set_math(torch, "fp32")
        for r in report["results"][printed:]:  # progress on stderr, the JSON stays clean
            figure = ""
            if "GFLOP/s" in r:
                figure = f"{r['GFLOP/s']:.0f} GFLOP/s"
                if "percent_of_peak" in r:
                    figure += f" ({r['percent_of_peak']:.1f}% of {r['math']} peak)"
            elif "GB/s" in r:
                figure = f"{r['GB/s']:.0f} GB/s"
            print(f"{r['name']:60s} {r.get('median_ms', float('nan')):10.4f} ms  {figure}  {r.get('error', '')}",
                  file=sys.stderr)
        printed = len(report["results"])
    text = json.dumps(report, indent=1)
    if args.out:  # whole or not at all
        directory = os.path.dirname(os.path.abspath(args.out))
        with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, suffix=".tmp") as f:
            f.write(text + "\n")
        os.chmod(f.name, 0o644)
        os.replace(f.name, args.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
