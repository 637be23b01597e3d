#!/usr/bin/python3
"""Loss and accuracy curves of a `cudp train --log FILE` run, drawn to a PNG.

    /usr/bin/python3 tools/plot_training.py run.jsonl [more.jsonl ...] -o curves.png

Left: the training loss of every progress line (the mean over its steps) against
the step. Right: the training accuracy of the same lines and the test (held-out)
accuracy after each epoch, against the step. Several logs are drawn on the same
axes, one colour each (a resumed run appends to its log: its lines continue the
curve). Needs matplotlib (Debian's python3-matplotlib), nothing else.
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path):
    """The step and epoch events of a --log file, each a list of dicts."""
    steps, epochs = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{number}: not a JSON line: {e}")
            if event.get("event") == "step":
                steps.append(event)
            elif event.get("event") == "epoch":
                epochs.append(event)
    if not steps:
        raise SystemExit(f"{path}: no step lines (is it a cudp train --log file?)")
    return steps, epochs


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("logs", nargs="+", help="cudp train --log files (JSON lines)")
    p.add_argument("-o", "--output", default="training.png", help="the PNG to write")
    p.add_argument("--title", default="", help="title above the plots")
    args = p.parse_args(argv)

    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    for index, path in enumerate(args.logs):
        steps, epochs = read_log(path)
        colour = f"C{index}"
        label = f"{path}: " if len(args.logs) > 1 else ""
        x = [s["step"] for s in steps]
        loss_axes.plot(x, [s["loss"] for s in steps], color=colour, label=f"{label}train")
        accuracy_axes.plot(x, [100 * s["accuracy"] for s in steps], color=colour, alpha=0.5,
                           label=f"{label}train")
        if epochs:
            accuracy_axes.plot([e["step"] for e in epochs],
                               [100 * e["test_accuracy"] for e in epochs], "o-", color=colour,
                               label=f"{label}test, per epoch")
            best = max(epochs, key=lambda e: e["test_accuracy"])
            accuracy_axes.annotate(f"{100 * best['test_accuracy']:.1f}%",
                                   (best["step"], 100 * best["test_accuracy"]),
                                   textcoords="offset points", xytext=(0, 6), ha="center")
    loss_axes.set(xlabel="step", ylabel="cross-entropy loss", title="training loss")
    loss_axes.set_yscale("log")
    accuracy_axes.set(xlabel="step", ylabel="accuracy (%)", title="accuracy")
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    if args.title:
        figure.suptitle(args.title)
    figure.tight_layout()
    figure.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
