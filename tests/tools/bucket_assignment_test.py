#!/usr/bin/python3
"""cudp's --textbook ddp buckets are PyTorch's (ctest: torch.buckets).

For seed-pool on 3x32x32 at several --bucket-cap-mb, `cudp train --parallel ddp --textbook`
prints its buckets in the config table, in backward order, each its tensors'
names in the order their gradients are written. PyTorch's reducer rebuilds its
buckets after the first step in the order gradients became ready, with
dist._compute_bucket_assignment_by_size(params in ready order, [1 MiB first,
bucket_cap_mb * 2^20], ..., their indices); that order is the parameters
reversed, since seed-pool's backward writes them last layer first. The two lists
of names must be equal.
Run: /usr/bin/python3 tests/tools/bucket_assignment_test.py --cudp build/cudp
"""
import argparse
import os
import re
import subprocess
import sys
import unittest

import torch
import torch.distributed as dist

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import torch_parity  # noqa: E402

CUDP = None
CAPS_MB = ["40", "25", "4", "1", "0.1", "0.01", "0.0001"]


def cudp_buckets(cap_mb, side):
    run = subprocess.run(
        [CUDP, "train", "--input", f"3x{side}x{side}", "--devices", "cpu:2", "--parallel", "ddp",
         "--textbook",
         "--bucket-cap-mb", cap_mb, "--steps", "1", "--train-size", "8", "--test-size", "4",
         "--batch", "4", "--threads", "1"],
        capture_output=True, text=True, check=True)
    row = next(line for line in run.stdout.splitlines() if line.strip().startswith("buckets"))
    return [names.split() for names in re.findall(r"\[([^\]]*)\]", row)]


def torch_buckets(cap_mb, side):
    named = list(torch_parity.SeedPool(height=side, width=side).named_parameters())
    ready = list(reversed(range(len(named))))  # the order backward writes them
    cap = int(float(cap_mb) * 1024 * 1024)
    indices, _ = dist._compute_bucket_assignment_by_size(
        [named[i][1] for i in ready], [dist._DEFAULT_FIRST_BUCKET_BYTES, cap],
        [False] * len(named), ready)
    return [[named[i][0] for i in bucket] for bucket in indices]


class BucketAssignment(unittest.TestCase):
    def test_every_cap_gives_pytorchs_buckets(self):
        counts = set()
        # fc1.weight (8 MiB on 3x32x32) closes the 1 MiB first bucket; the caps
        # cut the rest into 1, 2 or 4 (biases alone at 0.0001).
        for side in [32]:
            for cap in CAPS_MB:
                with self.subTest(cap_mb=cap, side=side):
                    ours, theirs = cudp_buckets(cap, side), torch_buckets(cap, side)
                    self.assertEqual(ours, theirs)
                    counts.add(len(theirs))
        # The caps give several different bucketings, or the test checks little.
        self.assertGreaterEqual(len(counts), 3, counts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cudp", required=True)
    args, rest = parser.parse_known_args()
    CUDP = args.cudp
    unittest.main(argv=[sys.argv[0]] + rest)
