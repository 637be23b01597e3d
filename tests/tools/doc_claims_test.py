#!/usr/bin/env python3
"""Checks every claim of a doc against fresh traces (ctest docs.claims).

A doc states its checkable sentences in prose and, right after each, a claim
in an HTML comment (invisible when rendered) that this script evaluates:

    <!-- run dp2: --devices cpu:2 --parallel dp --threads 1 -->
    <!-- claim dp2: count name=copy phase=broadcast dev=1 lane=copy == 3 -->
    <!-- claim dp2@1: bytes phase=broadcast src=0 dst=1 == 8,566,056 -->

A run is `cudp train FLAGS --steps 3 --test-size 32 --log-every 10 --trace T`
(the flags may add --batch and the like); a claim looks at one step of it,
step 2 unless `@N` says otherwise (steps count from 1, as the progress line
does). A step's events are those that begin between the first `step` span of
that step and the first of the next; the host lane's are its k-th group of
spans ending with `sync` (the host queues a step before its first span opens).

Claims, over the step's events that match every FILTER (key=value; a value
may list alternatives, a|b, and end in * as a prefix):
    count F == N          how many events match
    bytes F == N          the sum of their bytes
    lanes F == D.L,...    the lanes they lie on, e.g. 0.copy,1.compute
    order D.L: A B C      lane L of device D holds events A, B, C in this order
                          (others may come between); A is name or name:phase
    after F ; G           every G-event begins once every F-event has ended
    none F                no event matches
    test Suite.Name       a GoogleTest of that name exists under tests/
    test FILE: TEXT       tests/FILE contains TEXT (a case of a Python test)
    explain FLAGS => TEXT `cudp explain FLAGS` prints a line containing TEXT
Filter keys: name, phase, dev, lane (compute, copy, net, host), src, dst,
bucket, owner, bytes, offset, length.

A claim that fails prints its line, what it expected and what it found; a run
that no claim uses, a claim of a run never defined or a line that looks like a
claim and does not parse fails too, so a doc cannot pass by saying nothing.
"""
import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile

LANES = {0: "compute", 1: "copy", 2: "net", 3: "host"}
RUN = re.compile(r"<!--\s*run\s+([\w-]+)\s*:\s*(.*?)\s*-->")
CLAIM = re.compile(r"<!--\s*claim\s+([\w-]+)(?:@(\d+))?\s*:\s*(.*?)\s*-->")
KEYS = {"name", "phase", "dev", "lane", "src", "dst", "bucket", "owner", "bytes", "offset",
        "length"}


class Bad(Exception):
    pass


def number(text):
    return int(text.replace(",", ""))


def events_of(trace_path):
    with open(trace_path, encoding="utf-8") as f:
        document = json.load(f)
    out = []
    for e in document["traceEvents"]:
        if e.get("ph") != "X":
            continue
        args = e.get("args") or {}
        event = {"name": e["name"], "dev": e["pid"], "lane": LANES[e["tid"]],
                 "begin": e["ts"], "end": e["ts"] + e["dur"]}
        event["phase"] = args.get("phase", e["name"].split("/")[0])
        for key in ("src", "dst", "bucket", "owner", "bytes", "offset", "length"):
            if key in args:
                event[key] = args[key]
        out.append(event)
    return out


def steps_of(events):
    """{step (1-based): [events]}."""
    per_device = {}
    for e in events:
        if e["name"] == "step":
            per_device.setdefault(e["dev"], []).append(e["begin"])
    starts = [min(v) for v in zip(*[sorted(v) for v in per_device.values()])]
    steps = {k + 1: [] for k in range(len(starts))}
    host_groups, group = [], []
    for e in sorted(events, key=lambda e: (e["begin"], e["end"])):
        if e["lane"] == "host":
            group.append(e)
            if e["name"] == "sync":
                host_groups.append(group)
                group = []
            continue
        k = sum(1 for s in starts if s <= e["begin"])
        if k:
            steps[k].append(e)
    for k, g in enumerate(host_groups[:len(starts)]):
        steps[k + 1].extend(g)
    return steps


def parse_filter(tokens):
    f = {}
    for t in tokens:
        key, eq, value = t.partition("=")
        if not eq or key not in KEYS:
            raise Bad(f"expected a filter key=value with key one of {sorted(KEYS)}, found '{t}'")
        f[key] = value.split("|")
    return f


def matches(e, f):
    for key, values in f.items():
        if key not in e:
            return False
        got = str(e[key])
        if not any(fnmatch.fnmatchcase(got, v) if v.endswith("*") else got == v for v in values):
            return False
    return True


def lane_key(e):
    return f"{e['dev']}.{e['lane']}"


def evaluate(text, events):
    """None when the claim holds, else what was found."""
    op, _, rest = text.partition(" ")
    if op in ("count", "bytes", "lanes"):
        left, eq, want = rest.rpartition("==")
        if not eq:
            raise Bad(f"expected '{op} FILTERS == VALUE', found '{text}'")
        picked = [e for e in events if matches(e, parse_filter(left.split()))]
        if op == "count":
            got, expected = len(picked), number(want.strip())
        elif op == "bytes":
            got, expected = sum(e.get("bytes", 0) for e in picked), number(want.strip())
        else:
            got = ",".join(sorted({lane_key(e) for e in picked}))
            expected = ",".join(sorted(want.strip().split(",")))
        return None if got == expected else f"expected {expected}, found {got}"
    if op == "none":
        picked = [e for e in events if matches(e, parse_filter(rest.split()))]
        return None if not picked else f"expected none, found {len(picked)}: " + ", ".join(
            f"{e['name']} on {lane_key(e)}" for e in picked[:4])
    if op == "order":
        lane, colon, names = rest.partition(":")
        if not colon:
            raise Bad(f"expected 'order D.L: A B C', found '{text}'")
        seq = [e for e in sorted(events, key=lambda e: (e["begin"], e["end"]))
               if lane_key(e) == lane.strip()]
        want = names.split()
        i = 0
        for e in seq:
            if i < len(want):
                name, _, phase = want[i].partition(":")
                if e["name"] == name and (not phase or e["phase"] == phase):
                    i += 1
        if i == len(want):
            return None
        return (f"expected {' '.join(want)} in this order, matched up to '{want[i]}'; the lane "
                f"holds {' '.join(e['name'] + ':' + e['phase'] for e in seq[:40])}")
    if op == "after":
        first, semi, then = rest.partition(";")
        if not semi:
            raise Bad(f"expected 'after F ; G', found '{text}'")
        a = [e for e in events if matches(e, parse_filter(first.split()))]
        b = [e for e in events if matches(e, parse_filter(then.split()))]
        if not a or not b:
            return f"expected events on both sides, found {len(a)} and {len(b)}"
        end, begin = max(e["end"] for e in a), min(e["begin"] for e in b)
        return None if begin >= end else f"the first G begins {(end - begin) / 1000:.3f} ms early"
    raise Bad(f"unknown claim '{op}'; expected count, bytes, lanes, order, after, none, "
              "test or explain")


def gtest_names(root):
    names = set()
    pattern = re.compile(r"^TEST(?:_F|_P)?\(\s*(\w+)\s*,\s*(\w+)\s*\)", re.M)
    for folder, _, files in os.walk(os.path.join(root, "tests")):
        for name in files:
            if name.endswith(".cpp"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    names.update(f"{a}.{b}" for a, b in pattern.findall(f.read()))
    return names


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cudp", required=True)
    p.add_argument("--root", required=True, help="the repository (for tests/)")
    p.add_argument("docs", nargs="+")
    args = p.parse_args(argv)
    failures, checked = [], 0
    tests = gtest_names(args.root)
    with tempfile.TemporaryDirectory() as tmp:
        for doc in args.docs:
            with open(doc, encoding="utf-8") as f:
                # An example in code is not a claim: drop code spans, keep the lines.
                lines = re.sub(r"`[^`]*`", lambda m: "\n" * m.group(0).count("\n"),
                               f.read()).splitlines()
            runs, claims = {}, []
            for n, line in enumerate(lines, 1):
                for m in RUN.finditer(line):
                    runs[m.group(1)] = (m.group(2).split(), n)
                for m in CLAIM.finditer(line):
                    claims.append((n, m.group(1), int(m.group(2) or 2), m.group(3)))
                if ("<!-- claim" in line or "<!-- run" in line) and not (
                        CLAIM.search(line) or RUN.search(line)):
                    failures.append(f"{doc}:{n}: a claim or run that does not parse: {line}")
            traces = {}
            used = set()
            for n, run, step, text in claims:
                where = f"{doc}:{n}: claim {run}@{step}: {text}"
                checked += 1
                try:
                    if run == "test" and ":" in text:
                        name, _, want = text.partition(":")
                        path = os.path.join(args.root, "tests", name.strip())
                        body = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
                        if want.strip() not in body:
                            failures.append(f"{where}: tests/{name.strip()} has no '{want.strip()}'")
                        continue
                    if run == "test":
                        if text.strip() not in tests:
                            failures.append(f"{where}: no GoogleTest {text.strip()} under tests/")
                        continue
                    if run == "explain":
                        flags, arrow, want = text.partition("=>")
                        if not arrow:
                            raise Bad("expected 'explain FLAGS => TEXT'")
                        out = subprocess.run([args.cudp, "explain"] + flags.split(),
                                             capture_output=True, text=True, timeout=300)
                        if out.returncode or want.strip() not in out.stdout:
                            failures.append(f"{where}: cudp explain exited {out.returncode}; "
                                            f"expected a line with '{want.strip()}' in\n"
                                            f"{out.stdout}{out.stderr}")
                        continue
                    if run not in runs:
                        raise Bad(f"no <!-- run {run}: ... --> in {doc}")
                    used.add(run)
                    if run not in traces:
                        path = os.path.join(tmp, run + ".json")
                        cmd = [args.cudp, "train"] + runs[run][0] + [
                            "--steps", "3", "--test-size", "32", "--log-every", "10",
                            "--trace", path]
                        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                        if out.returncode:
                            raise Bad(f"{' '.join(cmd)} exited {out.returncode}: {out.stderr}")
                        traces[run] = steps_of(events_of(path))
                    if step not in traces[run]:
                        raise Bad(f"the run has steps {sorted(traces[run])}, not {step}")
                    found = evaluate(text, traces[run][step])
                    if found:
                        failures.append(f"{where}: {found}")
                except Bad as e:
                    failures.append(f"{where}: {e}")
            for run, (_, n) in runs.items():
                if run not in used:
                    failures.append(f"{doc}:{n}: run {run} is defined and no claim uses it")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} claims, {len(failures)} failed")
    if checked == 0:
        print("FAIL no claims at all")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
