#!/usr/bin/env python3
"""The vendor baselines of bench_kernels_cuda, timed through PyTorch on the same GPU.

What a user would pick instead of cudp's kernels: cuBLAS SGEMM (torch.matmul,
TF32 off), cuDNN convolution (forward, backward-data, backward-weight; TF32 off
and on), F.cross_entropy forward + backward, torch.optim.SGD's foreach step
with momentum, a device copy (y.copy_(x), the bandwidth ceiling), and one
seed-pool training step in eager PyTorch.

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


def bench_matmul(torch, timer):
    torch.backends.cuda.matmul.allow_tf32 = False
    shapes = [("NN", 8192, 8192, 8192), ("NN", 4096, 4096, 4096), ("NN", 1024, 1024, 1024), ("NT", 1024, 1024, 1024),
              ("TN", 1024, 1024, 1024), ("NT", 32, 512, 4096), ("NN", 32, 4096, 512),
              ("TN", 512, 4096, 32)]
    out = []
    for layout, m, n, k in shapes:
        # Row-major as cudp: NT's B is [N,K], TN's A is [K,M]; cuBLAS takes the transposes as flags.
        a = torch.randn(k, m, device="cuda").t() if layout == "TN" else torch.randn(m, k, device="cuda")
        b = torch.randn(n, k, device="cuda").t() if layout == "NT" else torch.randn(k, n, device="cuda")
        c = torch.empty(m, n, device="cuda")
        med, lo = timer.median_ms(lambda: torch.matmul(a, b, out=c))
        out.append(result(f"matmul_fp32_{layout}/{m}x{n}x{k}", med, lo, 2.0 * m * n * k,
                          4.0 * (m * k + k * n + m * n), library="cuBLAS via torch.matmul, TF32 off"))
    return out


def bench_conv(torch, timer):
    F = torch.nn.functional
    torch.backends.cudnn.benchmark = True
    out = []
    shapes = [(128, 64, 32, 64, (False, True)), (32, 3, 32, 64, (False,)), (32, 64, 16, 64, (False,))]
    for n, c, hw, k, tf32_modes in shapes:
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
        for tf32 in tf32_modes:
            torch.backends.cudnn.allow_tf32 = tf32
            for pass_name, fn in passes.items():
                med, lo = timer.median_ms(fn)
                mode = "tf32" if tf32 else "fp32"
                out.append(result(f"cudnn_conv2d_{pass_name}_{mode}/{conv_name(n, c, hw, k)}", med, lo,
                                  flops, bytes_, library=f"cuDNN via torch, TF32 {'on' if tf32 else 'off'}"))
    torch.backends.cudnn.allow_tf32 = False
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


def bench_train_step(torch, timer):
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

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    net = Net().cuda()
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    x_host = torch.randn(32, 3, 32, 32)
    y_host = torch.randint(0, 10, (32,))

    def step():  # as cudp's Trainer: batch from host memory, loss and accuracy back to the host
        x, y = x_host.cuda(), y_host.cuda()
        opt.zero_grad()
        logits = net(x)
        loss = criterion(logits, y)
        loss.backward()
        opt.step()
        return loss.item(), (logits.argmax(1) == y).sum().item()

    med, lo = timer.median_ms(step, flush_l2=False)
    return [result("torch_train_step_seed_pool/batch:32", med, lo, 0, 0,
                   **{"samples/s": 32 / (med * 1e-3), "library": "eager PyTorch, SGD(lr 0.001, momentum 0.9)"})]


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
    report = {
        "context": {
            "gpu": props.name, "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "l2_flush_bytes": timer.flush_bytes,
            "repeats": args.repeats, "warmup": args.warmup,
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
            report["results"].extend(BENCHES[key](torch, timer))
        except Exception as e:  # one broken baseline must not hide the others
            report["results"].append({"name": key, "error": f"{type(e).__name__}: {e}"})
        torch.cuda.synchronize()
        for r in report["results"][printed:]:  # progress on stderr, the JSON stays clean
            figure = ""
            if "GFLOP/s" in r:
                figure = f"{r['GFLOP/s']:.0f} GFLOP/s"
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
