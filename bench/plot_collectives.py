#!/usr/bin/python3
"""Draws all_reduce busbw against size, one line per configuration.

    /usr/bin/python3 bench/plot_collectives.py JSON [JSON ...] -o busbw.png

Each JSON is a file of bench/bench_collectives_mpi's --out: started alone it
holds the in-process configurations (tree, star over one process's logical
devices), under mpirun the inter-process ones (tree, MPI allreduce). Give both
to see the two levels of a run in one picture. x is the buffer of one device in
bytes (log 2), y nccl-tests' busbw = algbw * 2(n-1)/n in GB/s (log 10); the
legend names the devices and the load average the figures were taken at, which
matters on a shared machine.

A file that is missing, is not JSON, or lacks a field is refused with its name
and what was wrong (exit 1), before anything is drawn.
Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import json
import sys

ROW_FIELDS = ("size", "count", "iterations", "time_us", "algbw_GBps", "busbw_GBps")


def load(path):
    """The configurations of one file, each with its rows, or SystemExit naming what is wrong."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        sys.exit(f"plot_collectives.py: {path}: cannot read it ({e.strerror})")
    except json.JSONDecodeError as e:
        sys.exit(f"plot_collectives.py: {path}: not JSON ({e})")
    if not isinstance(doc, dict) or doc.get("benchmark") != "bench_collectives_mpi":
        sys.exit(f"plot_collectives.py: {path}: expected bench_collectives_mpi's JSON "
                 "(\"benchmark\": \"bench_collectives_mpi\")")
    for key in ("configurations", "devices", "processes", "devices_spec", "load_before"):
        if key not in doc:
            sys.exit(f"plot_collectives.py: {path}: no \"{key}\" field")
    configs = doc["configurations"]
    if not isinstance(configs, list) or not configs:
        sys.exit(f"plot_collectives.py: {path}: \"configurations\" is empty or not a list")
    for c in configs:
        rows = c.get("rows") if isinstance(c, dict) else None
        if not isinstance(rows, list) or not rows or "name" not in c:
            sys.exit(f"plot_collectives.py: {path}: a configuration without a name or rows: {c!r:.200}")
        for r in rows:
            missing = [k for k in ROW_FIELDS if not isinstance(r.get(k), (int, float))]
            if missing:
                sys.exit(f"plot_collectives.py: {path}: {c['name']}: a row without numeric "
                         f"{', '.join(missing)}: {r!r:.200}")
            if r["busbw_GBps"] <= 0:
                sys.exit(f"plot_collectives.py: {path}: {c['name']}: busbw {r['busbw_GBps']} at "
                         f"{r['size']} bytes cannot go on a log axis")
    return doc


def size_name(size):
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def label(doc, config):
    where = (f"{doc['processes']} ranks x {doc['devices_spec']}" if doc["processes"] > 1
             else doc["devices_spec"])
    load1 = str(doc["load_before"]).split()[0]
    return f"{config['name']} ({where}, load {load1})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("json", nargs="+", help="bench_collectives_mpi --out files")
    parser.add_argument("-o", "--out", default="collectives_busbw.png")
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    docs = [load(p) for p in args.json]  # every file checked before matplotlib loads
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        sys.exit(f"plot_collectives.py: matplotlib is not importable with {sys.executable} ({e}); "
                 "install python3-matplotlib")
    fig, ax = plt.subplots(figsize=(8, 5))
    lines = 0
    for doc in docs:
        for c in doc["configurations"]:
            rows = sorted(c["rows"], key=lambda r: r["size"])
            style = "-o" if c.get("level") == "in-process" else "--s"
            ax.plot([r["size"] for r in rows], [r["busbw_GBps"] for r in rows], style,
                    markersize=4, label=label(doc, c))
            lines += 1
    ax.set_xscale("log", base=2)
    sizes = sorted({r["size"] for doc in docs for c in doc["configurations"] for r in c["rows"]})
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_name(s) for s in sizes], rotation=45 if len(sizes) > 10 else 0)
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_xlabel("bytes per device")
    ax.set_ylabel("busbw (GB/s) = algbw * 2(n-1)/n")
    cpu = docs[0].get("cpu", "")
    ax.set_title(args.title or f"all_reduce busbw, float32 sum ({docs[0].get('date', '')}, {cpu})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"plot_collectives.py: wrote {args.out} ({lines} lines from {len(docs)} files)")


if __name__ == "__main__":
    main()
