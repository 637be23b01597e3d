#!/usr/bin/python3
"""One step of a `cudp train --trace FILE` run, drawn as lanes to a PNG.

    /usr/bin/python3 tools/plot_trace.py run.json -o step.png [--step N] [--title TEXT]
                                         [--summary step.json]

The trace is the Chrome trace-event JSON of parallel/trace.cpp: one process per
logical device (pid = its index), thread 0 its `compute` lane, thread 1 its
`copy` lane and, in a trace of a run over several processes (one rank's file or
`cudp trace merge`'s), thread 2 its `net` lane (transfers to other processes),
complete events ("ph": "X", ts/dur in microseconds) named by phase
(`forward/conv1`, `loss`, `sgd`, ...), the copies and adds (`copy`, `peer_add`)
with args {bytes, src, dst, phase}; src -1 is the host. parallel/trace.h lists
the names.

The picture: one row per lane, device 0 at the top (the net lane is drawn, a
third row per device, only when the step has net spans); each span a bar coloured by
its phase (a copy or add by its `phase` argument, a layer by forward/backward;
adds hatched), time in ms from the step's first event; every copy between devices a
thin arrow at its time from the source device's lane to the destination's (the
host is the row above device 0; a transfer whose other end is in another
process's file has no row to point to and gets no arrow), its bytes written beside the larger ones, and
the legend giving each copy phase's bytes in the step, and below it the table
of bytes each device sent and received between devices (the host is a row of
its own; a net lane's transfers to other processes are counted per device as
net, sent plus received, from its `exchange` spans). Beneath the lanes, zoom
panels on the reduce, a sliver of the step: its narrow reduce and all_reduce
spans grouped into stretches by their gaps (reduce_windows), at most four
panels side by side, each a stretch (lettered and shaded on the timeline above)
with the same lanes, every reduce bar wide enough labelled "src→dst bytes".
1200 x 900 pixels (1200 x 500 when no reduce span is narrow enough to need it).

Beside the PNG goes its summary (OUT with .json for .png, or --summary PATH):
{"source", "step", "steps", "duration_ms", "lanes": [{"device", "name", "lane",
"events": [{"name", "phase", "begin_ms", "end_ms", and bytes, src, dst, bucket,
offset, length, owner, peer where the event has them}, ...in time order]}],
"edges": [{"src", "dst", "phase", "name", "bytes", "count"}], "devices":
[{"device", "sent_bytes", "received_bytes", "net_bytes"}]}: what the picture
shows, for a reader or a test that wants numbers.

The decision a reader would get wrong: steps are not numbered in the trace.
Every rank opens one `step` span per step, so step k is the k-th `step` span of
each rank, and an event belongs to the step in which it begins. With one host
lane (one process), step k ends where the host's k-th `sync` ends; otherwise
step k starts at the earliest of its `step` spans (step_windows says why).
The default step is 1 (0 if there is one step): step 0 of ddp carries the
first broadcast and the warm-up, the step after it is typical. A lane's events
keep their order from run to run, times aside (tests/tools/figures_test.py
says why, and checks the committed figures).

Bad input exits 1 with one line naming the file or flag, what was expected and
what was found. The PNG is written to a temporary file beside OUT and renamed.
Needs matplotlib (Debian's python3-matplotlib), nothing else.
"""
import argparse
import json
import os
import sys
import tempfile
from collections import namedtuple

WIDTH_PX, HEIGHT_PX, DPI = 1200, 500, 100
ZOOMED_HEIGHT_PX = 900  # with the zoom panels on the reduce beneath the timeline
MAX_ZOOMS = 4
ZOOM_LETTERS = "ABCDEFGH"
ZOOM_SHADE = "#ffe9a8"
REDUCE_PHASES = ("reduce", "all_reduce")
CHAR_PX = 4.6  # the width of a character of a 6.5-point label, about
LANES = ("compute", "copy", "net", "host")
# The phases in the order of a step, so that the legend reads like one.
PHASE_COLOURS = {
    "step": "#eeeeee", "broadcast": "#8c564b", "scatter": "#17becf", "forward": "#1f77b4",
    "gather": "#bcbd22", "loss": "#d62728", "scatter_grad": "#e377c2", "backward": "#ff7f0e",
    "reduce": "#2ca02c", "all_reduce": "#2ca02c", "join": "#7f7f7f", "sgd": "#9467bd",
    "enqueue": "#c7c7c7", "wait": "#f7b6d2", "sync": "#dbdb8d",
}
OTHER_COLOURS = ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94"]

Span = namedtuple("Span", "rank lane name phase begin end bytes src dst labels")
# The args besides bytes, src and dst that the summary keeps (parallel/trace.h):
# a bucket's slice, an sgd's owner, a net transfer's peer. Never a time.
LABELS = ("bucket", "offset", "length", "owner", "peer")
HOST = -1


class BadInput(Exception):
    """One line for the user: what was expected, what was found, where."""


def kind(value):
    return {list: "a list", dict: "an object", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), f"a {type(value).__name__}")


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_trace(path):
    """(device names by rank, spans) of a cudp trace; BadInput on anything else."""
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except OSError as e:
        raise BadInput(f"{path}: cannot read it: {e.strerror}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: expected Chrome trace JSON, found text that is not JSON ({e})")
    if not isinstance(document, dict) or "traceEvents" not in document:
        found = "an object without traceEvents" if isinstance(document, dict) else kind(document)
        raise BadInput(f"{path}: expected a JSON object with traceEvents, found {found}")
    events = document["traceEvents"]
    if not isinstance(events, list):
        raise BadInput(f"{path}: expected traceEvents to be a list, found {kind(events)}")
    names, spans = {}, []
    for index, event in enumerate(events):
        where = f"{path}: traceEvents[{index}]"
        if not isinstance(event, dict):
            raise BadInput(f"{where}: expected an event object, found {kind(event)}")
        pid, tid = event.get("pid"), event.get("tid")
        if event.get("ph") == "M" and event.get("name") == "process_name":
            names[pid] = str((event.get("args") or {}).get("name", f"rank {pid}"))
        if event.get("ph") != "X":
            continue
        if not isinstance(event.get("name"), str):
            raise BadInput(f"{where}: expected a name string, found {kind(event.get('name'))}")
        if not isinstance(pid, int) or pid < 0 or tid not in (0, 1, 2, 3):
            raise BadInput(f"{where}: expected pid a device >= 0 and tid 0 (compute), 1 (copy), "
                           f"2 (net) or 3 (host), found pid {pid!r}, tid {tid!r}")
        if not is_number(event.get("ts")) or not is_number(event.get("dur")) or event["dur"] < 0:
            raise BadInput(f"{where}: expected numbers ts and dur >= 0, "
                           f"found ts {event.get('ts')!r}, dur {event.get('dur')!r}")
        args = event.get("args") or {}
        if not isinstance(args, dict):
            raise BadInput(f"{where}: expected args to be an object, found {kind(args)}")
        # bytes, src and dst are integers where present; a net lane's collective
        # has bytes and no src or dst (its exchanges name the peer process).
        moved = [args.get(key) for key in ("bytes", "src", "dst")]
        if any(key in args and not isinstance(args[key], int) or isinstance(args.get(key), bool)
               for key in ("bytes", "src", "dst")):
            raise BadInput(f"{where}: expected integers bytes, src and dst, found {moved!r}")
        name = event["name"]
        phase = str(args.get("phase") or name.split("/")[0])
        bytes_, src, dst = moved
        begin, end = event["ts"] / 1000.0, (event["ts"] + event["dur"]) / 1000.0
        labels = {key: args[key] for key in LABELS
                  if isinstance(args.get(key), int) and not isinstance(args[key], bool)}
        spans.append(Span(pid, tid, name, phase, begin, end, bytes_, src, dst, labels))
    return names, spans


def steps_of(path, spans):
    """[(begin, end)] in ms of each step, from the ranks' `step` spans."""
    per_rank = {}
    for s in spans:
        if s.name == "step":
            per_rank.setdefault(s.rank, []).append(s)
    if not per_rank:
        raise BadInput(f"{path}: expected `step` spans (a trace of cudp train --trace), found "
                       f"{len(spans)} spans and none named step")
    counts = {rank: len(v) for rank, v in per_rank.items()}
    if len(set(counts.values())) != 1:
        found = ", ".join(f"rank {r}: {n}" for r, n in sorted(counts.items()))
        raise BadInput(f"{path}: expected the same number of step spans on every rank, "
                       f"found {found}")
    ordered = [sorted(v, key=lambda s: s.begin) for v in per_rank.values()]
    return [(min(r[k].begin for r in ordered), max(r[k].end for r in ordered))
            for k in range(len(ordered[0]))]


def step_windows(spans, steps):
    """[(from, until)] in ms: the spans that begin in [from, until) are step k's.

    With one host lane that ends every step with a `sync` (one process), the
    steps are cut at the syncs' ends: everything of step k begins before its
    sync ends, and nothing of step k+1 begins before the host has queued it.
    The `step` spans cannot cut there: the host starts queuing (its first
    `enqueue`) a few microseconds before or after the first device reaches its
    step mark, as threads happen to be scheduled. Otherwise (several hosts: a
    merged trace) step k runs from the earliest step span of step k."""
    hosts = {s.rank for s in spans if s.lane == 3}
    syncs = sorted(s.end for s in spans if s.lane == 3 and s.name == "sync")
    if len(hosts) == 1 and len(syncs) == len(steps):
        cuts = [-float("inf")] + syncs[:-1] + [float("inf")]
    else:
        cuts = [-float("inf")] + [b for b, _ in steps[1:]] + [float("inf")]
    return list(zip(cuts[:-1], cuts[1:]))


def spans_of_step(spans, steps, k):
    """The spans that begin in step k, times shifted to ms from its first span."""
    since, until = step_windows(spans, steps)[k]
    inside = [s for s in spans if since <= s.begin < until]
    begin = min(s.begin for s in inside)
    return [s._replace(begin=s.begin - begin, end=s.end - begin) for s in inside]


def human_bytes(n):
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def colour_of(phase, extra):
    if phase in PHASE_COLOURS:
        return PHASE_COLOURS[phase]
    if phase not in extra:  # a phase this script does not know yet: still drawn
        extra[phase] = OTHER_COLOURS[len(extra) % len(OTHER_COLOURS)]
    return extra[phase]


def is_edge(s):
    return s.bytes is not None and s.src is not None and s.dst is not None and s.src != s.dst


def device_table(step_spans):
    """{device: [sent, received, net]} bytes of the step; HOST for the host."""
    table = {}
    for s in step_spans:
        if is_edge(s):
            table.setdefault(s.src, [0, 0, 0])[0] += s.bytes
            table.setdefault(s.dst, [0, 0, 0])[1] += s.bytes
        elif s.name == "exchange" and s.bytes is not None:  # net lane: sent plus received
            table.setdefault(s.rank, [0, 0, 0])[2] += s.bytes
    return table


def summary(source, names, step_spans, k, step_count):
    """The sidecar JSON: lanes with their ordered events, the edges, the per-device table."""
    lanes = {}
    for s in sorted(step_spans, key=lambda s: (s.rank, s.lane, s.begin, s.end)):
        event = {"name": s.name, "phase": s.phase, "begin_ms": round(s.begin, 4),
                 "end_ms": round(s.end, 4)}
        for key in ("bytes", "src", "dst"):
            if getattr(s, key) is not None:
                event[key] = getattr(s, key)
        event.update(s.labels)
        lanes.setdefault((s.rank, s.lane), []).append(event)
    edges = {}
    for s in step_spans:
        if is_edge(s):
            edge = edges.setdefault((s.src, s.dst, s.phase, s.name), [0, 0])
            edge[0] += s.bytes
            edge[1] += 1
    return {
        "source": source, "step": k, "steps": step_count,
        "duration_ms": round(max(s.end for s in step_spans), 4),
        "lanes": [{"device": rank, "name": names.get(rank, f"rank {rank}"), "lane": LANES[lane],
                   "events": events} for (rank, lane), events in sorted(lanes.items())],
        "edges": [{"src": src, "dst": dst, "phase": phase, "name": name, "bytes": b, "count": n}
                  for (src, dst, phase, name), (b, n) in sorted(edges.items())],
        "devices": [{"device": d, "sent_bytes": t[0], "received_bytes": t[1], "net_bytes": t[2]}
                    for d, t in sorted(device_table(step_spans).items())],
    }


def short_name(names, rank):
    """'device 1 (cpu:1)' from 'rank 1 (cpu:1)' or a merged trace's longer names."""
    device = names.get(rank, "").partition("(")[2].partition(")")[0]
    return f"device {rank}" + (f" ({device})" if device else "")


def reduce_windows(step_spans, duration):
    """([(begin, end)] in ms, stretches found): where the zoom panels look.

    The slivers of the reduce (dp) or all-reduce (ddp): its spans narrower than
    3% of the step (a wider one is readable in the timeline, and drawn in a
    panel only where it crosses one). In time order, grouped while the gap to
    the group's end is under 1% of the step; then the two closest groups merged
    while more than MAX_ZOOMS are left and the merged one would be at most 5%
    of the step; if more are left still, the MAX_ZOOMS that move the most bytes
    are kept (on an oversubscribed machine the replicas reduce their slices far
    apart). Each window is at least 1% of the step wide, padded by 5% of its
    width on both sides."""
    spans = sorted((s for s in step_spans if s.phase in REDUCE_PHASES and s.lane != 3
                    and s.end - s.begin < 0.03 * duration), key=lambda s: s.begin)
    groups = []  # [begin, end, bytes]
    for s in spans:
        moved = s.bytes if s.bytes is not None else 4 * s.labels.get("length", 0)
        if groups and s.begin <= groups[-1][1] + 0.01 * duration:
            groups[-1][1] = max(groups[-1][1], s.end)
            groups[-1][2] += moved
        else:
            groups.append([s.begin, s.end, moved])
    found = len(groups)
    while len(groups) > MAX_ZOOMS:
        i = min(range(len(groups) - 1), key=lambda i: groups[i + 1][0] - groups[i][1])
        (begin, end, moved), (_, end_next, moved_next) = groups[i], groups[i + 1]
        merged = [begin, max(end, end_next), moved + moved_next]
        if merged[1] - merged[0] > 0.05 * duration:
            break
        groups[i:i + 2] = [merged]
    kept = sorted(sorted(groups, key=lambda g: -g[2])[:MAX_ZOOMS])
    windows = []
    for begin, end, _ in kept:
        middle, half = (begin + end) / 2, max(end - begin, 0.01 * duration) * 0.55
        windows.append((max(middle - half, -0.01 * duration), min(middle + half, duration * 1.02)))
    return windows, found if len(groups) > len(kept) else len(kept)


def draw(source, names, step_spans, k, step_count, title, plt):
    from matplotlib.patches import Patch

    ranks = sorted({s.rank for s in step_spans} | set(names))
    # The host rows on top: one per process whose host lane (tid 3, on its first
    # device) has spans, or one for the host end of the batch's copies.
    host_of = sorted({s.rank for s in step_spans if s.lane == 3})
    if not host_of and any(s.src == -1 or s.dst == -1 for s in step_spans):
        host_of = [None]
    lanes = 3 if any(s.lane == 2 for s in step_spans) else 2  # the net lane when it is used
    host_rows = ["host" if len(host_of) == 1 else f"host of device {p}" for p in host_of]
    rows = host_rows + [f"{short_name(names, r)}  {lane}"
                        for r in ranks for lane in LANES[:lanes]]
    first = len(host_rows)

    def row(rank, lane):
        if lane == 3:
            return host_of.index(rank)
        return first + lanes * ranks.index(rank) + lane if rank >= 0 else 0

    duration = max(s.end for s in step_spans)
    windows, stretches = reduce_windows(step_spans, duration)
    height_px = ZOOMED_HEIGHT_PX if windows else HEIGHT_PX
    figure = plt.figure(figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI)
    # The main timeline keeps the 500-pixel figure's layout in its top 500 pixels.
    top = 1 - 500 / height_px

    def from_top(fraction):  # a height in the 500-pixel layout, as a fraction of this figure
        return top + fraction * 500 / height_px

    axes = figure.add_axes([0.16, from_top(0.11), 0.66, 0.8 * 500 / height_px])
    px_per_ms = 0.66 * WIDTH_PX / (duration * 1.03)
    extra, used, moved = {}, [], {}
    draw_spans(axes, step_spans, row, px_per_ms, extra, used)
    for s in step_spans:
        if s.bytes is not None and (is_edge(s) or s.name == "exchange"):  # not a net collective,
            moved[s.phase] = moved.get(s.phase, 0) + s.bytes  # whose exchanges count its bytes
    draw_copies(axes, step_spans, row, set(ranks), px_per_ms, extra)
    lane_rows(axes, rows, ranks, first, lanes)
    axes.set_xlim(-0.01 * duration, duration * 1.02)
    axes.set_xlabel("ms from the start of the step", fontsize=9)
    axes.tick_params(axis="x", labelsize=9)
    axes.grid(axis="x", alpha=0.3)
    for letter, (begin, end) in zip(ZOOM_LETTERS, windows):  # where the zoom panels look
        axes.axvspan(begin, end, color=ZOOM_SHADE, alpha=0.35, zorder=0, linewidth=0)
        axes.text((begin + end) / 2, 1.005, letter, transform=axes.get_xaxis_transform(),
                  ha="center", va="bottom", fontsize=8, fontweight="bold", color="#7a5c00")
    if windows:
        draw_zooms(figure, windows, step_spans, row, rows, ranks, first, lanes, extra, used,
                   set(ranks), height_px, px_per_ms, stretches)

    order = [p for p in PHASE_COLOURS if p in used] + [p for p in used if p not in PHASE_COLOURS]
    handles = [Patch(facecolor=colour_of(p, extra), edgecolor="#999999", linewidth=0.4,
                     label="step (one per rank)" if p == "step" else
                     p + (f" ({human_bytes(moved[p])})" if p in moved else ""))
               for p in order]
    handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="////",
                         label="peer_add (hatched)"))
    figure.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.83, from_top(0.93)),
                  fontsize=8, frameon=False, title="phase (bytes moved)", title_fontsize=8)
    table = device_table(step_spans)
    if table:
        net = any(t[2] for t in table.values())
        lines = [f"{'':>4}  {'sent':>8} {'received':>8}" + (f" {'net':>8}" if net else "")]
        for d, (sent, received, across) in sorted(table.items()):
            lines.append(f"{'host' if d == HOST else d:>4}  {human_bytes(sent):>8} "
                         f"{human_bytes(received):>8}" + (f" {human_bytes(across):>8}" if net else ""))
        figure.text(0.83, from_top(0.02), "\n".join(lines), fontsize=7.5, family="monospace",
                    va="bottom")
    devices = [short_name(names, r).partition("(")[2].rstrip(")") or f"rank {r}" for r in ranks]
    figure.suptitle(title or f"{source}: step {k} of 0..{step_count - 1}, {duration:.1f} ms, "
                    f"{len(ranks)} devices ({', '.join(devices)})", fontsize=10,
                    y=from_top(0.98))
    return figure


def lane_rows(axes, rows, ranks, first, lanes, labels=True, fontsize=9):
    axes.set_yticks(range(len(rows)), rows if labels else [""] * len(rows), fontsize=fontsize)
    axes.set_ylim(len(rows) - 0.5, -0.5)  # rank 0 at the top
    for r in range(len(ranks)):  # a line between devices
        axes.axhline(first + lanes * r - 0.5, color="#999999", linewidth=0.6)


def draw_spans(axes, step_spans, row, px_per_ms, extra, used, window=None):
    """Every span as a bar on its lane (the step behind the rest), layers named where wide."""
    narrow = 1.5 / px_per_ms  # a span shorter than 1.5 px is drawn 1.5 px wide
    since, until = window or (-float("inf"), float("inf"))
    for s in sorted(step_spans, key=lambda s: s.name != "step"):
        if s.end < since or s.begin > until:
            continue
        y = row(s.rank, s.lane)
        colour = colour_of(s.phase, extra)
        if s.phase not in used:
            used.append(s.phase)
        height = 0.9 if s.name == "step" else 0.62
        axes.broken_barh([(s.begin, max(s.end - s.begin, narrow))], (y - height / 2, height),
                         facecolor=colour, edgecolor="white" if s.name != "step" else "none",
                         linewidth=0.4, hatch="////" if s.name == "peer_add" else None)
        shown = (max(s.begin, since), min(s.end, until))  # the part inside the panel
        if "/" in s.name and (shown[1] - shown[0]) * px_per_ms > 36:  # a layer wide enough to name
            axes.text((shown[0] + shown[1]) / 2, y, s.name.split("/")[1], ha="center",
                      va="center", fontsize=7.5, color="white", clip_on=True)


def draw_zooms(figure, windows, step_spans, row, rows, ranks, first, lanes, extra, used, drawn,
               height_px, main_px_per_ms, stretches):
    """A panel per window beneath the timeline: the same lanes, every reduce edge labelled."""
    from matplotlib.ticker import MaxNLocator

    bottom, panel_height = 50 / height_px, (ZOOMED_HEIGHT_PX - 500 - 95) / height_px
    left, right, gap = 0.16, 0.98, 0.012
    width = (right - left - gap * (len(windows) - 1)) / len(windows)
    for i, (letter, (since, until)) in enumerate(zip(ZOOM_LETTERS, windows)):
        axes = figure.add_axes([left + i * (width + gap), bottom, width, panel_height])
        px_per_ms = width * WIDTH_PX / (until - since)
        draw_spans(axes, step_spans, row, px_per_ms, extra, used, (since, until))
        inside = [s for s in step_spans if s.end >= since and s.begin <= until]
        draw_copies(axes, inside, row, drawn, px_per_ms, extra, labels=False)
        label_edges(axes, inside, row, px_per_ms, (since, until))
        lane_rows(axes, rows, ranks, first, lanes, labels=i == 0, fontsize=8)
        axes.set_xlim(since, until)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=3, min_n_ticks=2))
        axes.tick_params(axis="x", labelsize=7.5)
        axes.tick_params(axis="y", length=0 if i else 3.5)
        axes.grid(axis="x", alpha=0.3)
        for spine in axes.spines.values():
            spine.set_edgecolor("#b8860b")
        axes.set_title(f"{letter}: {since:.2f}\u2013{until:.2f} ms, "
                       f"\u00d7{px_per_ms / main_px_per_ms:.0f}", fontsize=8, loc="left", pad=3,
                       color="#7a5c00")
    which = ("each panel is the stretch under its letter above" if stretches == len(windows) else
             f"the {len(windows)} of {stretches} stretches that move the most bytes, "
             "under their letters")
    figure.text(0.16, bottom + panel_height + 42 / height_px,
                f"The reduce, enlarged: {which}; a reduce bar is labelled src\u2192dst "
                "and its bytes where it fits (+src\u2192dst: an add, no bytes)",
                fontsize=8, color="#333333")
    figure.text(0.16, 12 / height_px, "ms from the start of the step", fontsize=8.5)


def label_edges(axes, spans, row, px_per_ms, window):
    """'1→0 2.1 MB' inside each reduce bar wide enough (on two lines if need be),
    else beside it where its row is free; a label that fits nowhere is left out,
    and so is one over another label's pixels."""
    since, until = window
    placed = []

    def free(box, y, beside):  # no label there, nor (beside a bar) another bar of the row
        if box[0] < since or box[1] > until:
            return False
        if any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3]
               for b in placed):
            return False
        return not beside or not any(
            o.name != "step" and row(o.rank, o.lane) == y and o.begin < box[1] and box[0] < o.end
            for o in spans)

    for s in sorted(spans, key=lambda s: (-(s.bytes or 0), s.begin)):
        if s.phase not in REDUCE_PHASES or s.src is None or s.dst is None or s.src == s.dst:
            continue
        source = "host" if s.src < 0 else str(s.src)
        edge = f"{source}\u2192{s.dst}"
        lines = [f"{edge} {human_bytes(s.bytes)}"] if s.bytes is not None else [f"+{edge}"]
        shown = (max(s.begin, since), min(s.end, until))
        room = (shown[1] - shown[0]) * px_per_ms - 4
        if len(lines[0]) * CHAR_PX > room and s.bytes is not None:
            lines = [edge, human_bytes(s.bytes)]
        y, width = row(s.rank, s.lane), max(len(line) for line in lines) * CHAR_PX / px_per_ms
        gap = 2 / px_per_ms
        if width * px_per_ms <= room:
            t = (shown[0] + shown[1]) / 2
            boxes = [((t - width / 2, t + width / 2, y - 0.3, y + 0.3), False)]
        else:  # right of the bar, else left of it, on one line
            lines = [" ".join(lines)]
            width = len(lines[0]) * CHAR_PX / px_per_ms
            boxes = [((shown[1] + gap, shown[1] + gap + width, y - 0.3, y + 0.3), True),
                     ((shown[0] - gap - width, shown[0] - gap, y - 0.3, y + 0.3), True)]
        box = next((b for b, beside in boxes if free(b, y, beside)), None)
        if box is None:
            continue
        placed.append(box)
        axes.text((box[0] + box[1]) / 2, y, "\n".join(lines), fontsize=6.5, linespacing=0.95,
                  ha="center", va="center", color="#111111", clip_on=True,
                  bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=0.3))


def draw_copies(axes, step_spans, row, drawn, px_per_ms, extra, labels=True):
    """An arrow per copy between drawn devices, from src's lane to dst's; the larger labelled."""
    def has_row(device):
        return device < 0 or device in drawn

    copies = [s for s in step_spans if s.bytes is not None and s.src is not None
              and s.dst is not None and s.src != s.dst and has_row(s.src) and has_row(s.dst)]
    if not copies:
        return
    largest = max(s.bytes for s in copies)
    labelled = set()  # one label per edge and lane kind: fc1's parts repeat every edge
    placed = []  # label boxes (x0, x1, y0, y1) in ms and rows, so that labels never overlap
    for s in sorted(copies, key=lambda s: (-s.bytes, s.begin)):
        t = (s.begin + s.end) / 2
        y_from, y_to = row(s.src, s.lane), row(s.dst, s.lane)
        axes.annotate("", xy=(t, y_to), xytext=(t, y_from),
                      arrowprops=dict(arrowstyle="-|>", color=colour_of(s.phase, extra), lw=0.7,
                                      alpha=0.8, mutation_scale=7, shrinkA=0, shrinkB=2))
        if not labels or s.bytes < largest / 4 or (s.src, s.dst, s.lane) in labelled:
            continue
        source = "host" if s.src < 0 else str(s.src)
        label = f"{source}\u2192{s.dst} {human_bytes(s.bytes)}"
        width = (len(label) * 6 + 6) / px_per_ms
        y = (y_from + y_to) / 2
        box = (t + 1 / px_per_ms, t + width, y - 0.3, y + 0.3)
        if any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3] for b in placed):
            continue
        placed.append(box)
        labelled.add((s.src, s.dst, s.lane))
        axes.text(box[0], y, label, fontsize=7.5, va="center", ha="left", color="#222222",
                  bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=0.5))


def write_png(figure, out):
    write_file(out, lambda f: figure.savefig(f, format="png", dpi=DPI))


def write_json(document, out):
    write_file(out, lambda f: f.write((json.dumps(document, indent=1) + "\n").encode("utf-8")))


def write_file(out, write):
    """Whole or not at all: a temporary file in OUT's folder, renamed."""
    folder = os.path.dirname(os.path.abspath(out))
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(out)}.",
                                                 suffix=".tmp")
    except OSError as e:
        raise BadInput(f"{out}: cannot write there: {e.strerror}")
    try:
        with os.fdopen(descriptor, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600; a plot is for everyone
        os.replace(temporary, out)
    except OSError as e:
        os.unlink(temporary)
        raise BadInput(f"{out}: cannot write it: {e.strerror}")
    except BaseException:
        os.unlink(temporary)
        raise


class Parser(argparse.ArgumentParser):
    def error(self, message):  # exit 1 like every other bad input, not argparse's 2
        self.print_usage(sys.stderr)
        raise SystemExit(f"plot_trace.py: {message}")


def main(argv):
    p = Parser(description=__doc__.split("\n")[0])
    p.add_argument("trace", help="a cudp train --trace file (Chrome trace JSON)")
    p.add_argument("out", nargs="?", help="the PNG to write (or -o OUT)")
    p.add_argument("-o", "--output", default=None, help="the PNG to write")
    p.add_argument("--summary", default=None,
                   help="the summary JSON to write (default: OUT with .json for .png)")
    p.add_argument("--step", type=int, default=None,
                   help="the step to draw, from 0 (default: 1, or 0 if there is one step)")
    p.add_argument("--title", default="", help="title above the lanes (default: the step)")
    args = p.parse_args(argv)
    if (args.out is None) == (args.output is None):
        p.error("expected the PNG to write, as OUT or -o OUT (one of them)")
    args.out = args.out or args.output
    try:
        names, spans = read_trace(args.trace)
        steps = steps_of(args.trace, spans)
        k = args.step if args.step is not None else min(1, len(steps) - 1)
        if not 0 <= k < len(steps):
            held = f"steps 0..{len(steps) - 1}" if len(steps) > 1 else "step 0 only"
            raise BadInput(f"--step {k}: the trace holds {held}")
        if not args.out.lower().endswith(".png"):
            raise BadInput(f"{args.out}: expected an output name ending in .png")
        summary_path = args.summary or args.out[:-4] + ".json"
        if os.path.abspath(summary_path) == os.path.abspath(args.trace):
            raise BadInput(f"--summary {summary_path}: that is the trace itself; "
                           "expected another file")
        try:
            import matplotlib

            matplotlib.use("Agg")  # files only, no display
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise BadInput(f"plot_trace.py: expected matplotlib for {sys.executable}, found none "
                           f"({e}): apt-get install python3-matplotlib, or tools/setup.sh")

        step_spans = spans_of_step(spans, steps, k)
        source = os.path.basename(args.trace)
        figure = draw(source, names, step_spans, k, len(steps), args.title, plt)
        write_png(figure, args.out)
        write_json(summary(source, names, step_spans, k, len(steps)), summary_path)
    except BadInput as e:
        print(e, file=sys.stderr)
        return 1
    print(f"wrote {args.out} and {summary_path}: step {k} of {args.trace}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
