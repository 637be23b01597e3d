#!/usr/bin/python3
"""The runs whose checkpoints must keep their bits, and their recorded checksums.

    /usr/bin/python3 tests/apps/same_bits.py record --cudp OLD/build/cudp > tests/apps/same_bits.txt

runs every configuration below with a given `cudp` binary and prints one line per
run: its name, the checksum of the model file and of the optimizer file. The
checksum is FNV-1a (64 bits) over each tensor in name order: its name, then its
float32 bytes as stored (little-endian); the metadata is left out, so that a new
metadata key changes no checksum. tests/apps/same_bits_test.cpp runs the same
configurations in-process and compares (it parses the RUNS below from this file's
text, so the two can never disagree on the flags).

The recorded file was made with the binary of commit 9346874 (before "The house"
redesign of parallel/), so the test checks that the redesign changed no bit.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

COMMON = ("--input 3x16x16 --train-size 60 --test-size 12 --steps 7 --lr 0.05 --momentum 0.9 "
          "--threads 1 --log-every 100 --seed 5")

# name | extra flags | resumed at step (0: a straight run)
RUNS = """
one        | --devices cpu:1 --batch 10                                          | 0
dp4tree    | --devices cpu:4 --parallel dp --reduce tree --batch 10              | 0
dp4star    | --devices cpu:4 --parallel dp --reduce star --batch 10              | 0
ddp4tree   | --devices cpu:4 --parallel ddp --reduce tree --batch 10             | 0
ddp4star   | --devices cpu:4 --parallel ddp --reduce star --batch 10             | 0
dp4idle    | --devices cpu:4 --parallel dp --batch 9                             | 0
ddp4idle   | --devices cpu:4 --parallel ddp --batch 9                            | 0
ddp3       | --devices cpu:3 --parallel ddp --batch 10                           | 0
dp3copy    | --devices cpu:3 --parallel dp --edge copy --chunk-bytes 4K --batch 10 | 0
ddp3copy   | --devices cpu:3 --parallel ddp --edge copy --chunk-bytes 4K --batch 10 | 0
dp2out1    | --devices cpu:2 --parallel dp --output-device cpu:1 --batch 10     | 0
ddp2nest   | --devices cpu:2 --parallel ddp --nesterov --weight-decay 0.01 --batch 10 | 0
dp4resume  | --devices cpu:4 --parallel dp --batch 10                            | 3
ddp4resume | --devices cpu:4 --parallel ddp --batch 10                           | 3
"""


def runs():
    for line in RUNS.strip().splitlines():
        name, flags, resume = (part.strip() for part in line.split("|"))
        yield name, flags.split(), int(resume)


def tensors(path):
    """A safetensors file's tensors: {name: its bytes as stored}, metadata left out."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    return {name: body[info["data_offsets"][0]:info["data_offsets"][1]]
            for name, info in header.items() if name != "__metadata__"}


def checksum(path):
    h = 0xcbf29ce484222325
    for name, data in sorted(tensors(path).items()):
        for byte in name.encode() + data:
            h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def record(cudp):
    with tempfile.TemporaryDirectory() as folder:
        for name, flags, resume in runs():
            out = os.path.join(folder, name + ".safetensors")
            base = [cudp, "train"] + COMMON.split() + flags
            if resume:
                first = os.path.join(folder, name + "-first.safetensors")
                subprocess.run(base + ["--save", first, "--save-every", str(resume)], check=True,
                               stdout=subprocess.DEVNULL)
                step = first.replace(".safetensors", ".step%d.safetensors" % resume)
                subprocess.run(base + ["--resume", step, "--save", out], check=True,
                               stdout=subprocess.DEVNULL)
            else:
                subprocess.run(base + ["--save", out], check=True, stdout=subprocess.DEVNULL)
            optim = out.replace(".safetensors", ".optim.safetensors")
            print(name, checksum(out), checksum(optim))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "record" and sys.argv[2] == "--cudp":
        record(sys.argv[3])
    else:
        sys.exit("usage: same_bits.py record --cudp PATH")
