#!/usr/bin/python3
"""Writes the seed corpora of the fuzzers: fuzz/corpus/<name>/ for fuzz_<name>.

Usage: /usr/bin/python3 fuzz/make_corpus.py [--check] [OUT_DIR]
  OUT_DIR defaults to fuzz/corpus beside this script. --check writes nothing:
  it compares OUT_DIR with what it would write (same names, same bytes) and
  exits 1 naming every difference; a ctest runs it on the committed corpus.

Every file is a few KB at most and is built here byte by byte, so the output
is the same on every machine: the gzip members are encoded by the small
deflate writer below (stored and fixed-Huffman blocks), not by zlib, whose
output may differ between builds (zlib, zlib-ng). Each corpus holds valid
files, so the fuzzer starts from inputs that reach the end of the parser, and
the edge cases a parser must refuse (short, lying, absurd, out of range).
Add a file by adding a line to the corpus's function, then run this script.
"""
import os
import struct
import sys
import zlib


# ---------------------------------------------------------------- deflate, gzip

class BitWriter:
    """Deflate's bit order: fields LSB first, Huffman codes MSB first."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.nbits = 0

    def bits(self, value, count):
        self.acc |= value << self.nbits
        self.nbits += count
        while self.nbits >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.nbits -= 8

    def code(self, code, length):
        reversed_code = int(format(code, "0%db" % length)[::-1], 2)
        self.bits(reversed_code, length)

    def flush(self):
        if self.nbits:
            self.out.append(self.acc & 0xFF)
        self.acc = self.nbits = 0
        return bytes(self.out)


def fixed_literal(w, symbol):
    """RFC 1951 3.2.6: the fixed literal/length code of `symbol`."""
    if symbol < 144:
        w.code(0x30 + symbol, 8)
    elif symbol < 256:
        w.code(0x190 + symbol - 144, 9)
    elif symbol < 280:
        w.code(symbol - 256, 7)
    else:
        w.code(0xC0 + symbol - 280, 8)


def deflate_fixed(data, run_of_last=0):
    """One final fixed-Huffman block: `data` as literals, then `run_of_last`
    more copies of its last byte as 258-byte matches at distance 1 (a bomb)."""
    w = BitWriter()
    w.bits(1, 1)  # BFINAL
    w.bits(1, 2)  # BTYPE 01: fixed Huffman
    for b in data:
        fixed_literal(w, b)
    assert run_of_last % 258 == 0 and (run_of_last == 0 or data)
    for _ in range(run_of_last // 258):
        fixed_literal(w, 285)  # length 258, no extra bits
        w.code(0, 5)  # distance code 0: distance 1
    fixed_literal(w, 256)  # end of block
    return w.flush()


def deflate_stored(data):
    """Stored blocks (BTYPE 00) of at most 65535 bytes."""
    out = bytearray()
    chunks = [data[i:i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for i, chunk in enumerate(chunks):
        out.append(1 if i == len(chunks) - 1 else 0)
        out += struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF)
        out += chunk
    return bytes(out)


def gzip_member(data, deflated=None, run_of_last=0, crc=None, isize=None):
    """A gzip member (RFC 1952): no name, mtime 0, OS 255 (unknown)."""
    if deflated is None:
        deflated = deflate_fixed(data, run_of_last)
    full = data + data[-1:] * run_of_last
    header = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255])
    crc = zlib.crc32(full) if crc is None else crc
    isize = len(full) & 0xFFFFFFFF if isize is None else isize
    return header + deflated + struct.pack("<II", crc, isize)


# ---------------------------------------------------------------- IDX

def idx(magic, dims, values=b""):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + values


def pattern(n, seed=7):
    """n deterministic bytes that are not all alike."""
    return bytes((i * 37 + seed * 11 + (i >> 3)) & 0xFF for i in range(n))


IMAGES = 0x00000803
LABELS = 0x00000801


def idx_corpus():
    # fuzz_idx reads each input as an images file (with 2 fixed labels) and as
    # a labels file (with 2 fixed 2x2 images): 2-sample files reach the end.
    return {
        "images_2x3x3.idx": idx(IMAGES, [2, 3, 3], pattern(18)),
        "images_2x2x2.idx": idx(IMAGES, [2, 2, 2], bytes(range(8))),
        "labels_2.idx": idx(LABELS, [2], bytes([3, 9])),
        "labels_1.idx": idx(LABELS, [1], bytes([0])),
        "images_zero_count.idx": idx(IMAGES, [0, 28, 28]),
        "labels_zero_count.idx": idx(LABELS, [0]),
        "images_truncated_header.idx": idx(IMAGES, [2])[:9],
        "labels_truncated_header.idx": struct.pack(">I", LABELS) + b"\x00\x00",
        "images_truncated_data.idx": idx(IMAGES, [2, 3, 3], pattern(10)),
        "images_trailing_bytes.idx": idx(IMAGES, [2, 2, 2], bytes(range(9))),
        "labels_out_of_range.idx": idx(LABELS, [2], bytes([3, 10])),
        "labels_count_mismatch.idx": idx(LABELS, [3], bytes([1, 2, 3])),
        "wrong_magic_type.idx": idx(0x00000903, [2, 2, 2], bytes(8)),
        "wrong_magic_rank.idx": idx(0x00000804, [2, 2, 2, 1], bytes(8)),
        "wrong_magic_little_endian.idx": struct.pack("<I", IMAGES) + bytes(20),
        "wrong_magic_gzip.idx": bytes([0x1F, 0x8B, 8, 0]) + bytes(12),
        "short_magic.idx": b"\x00\x00",
        "empty.idx": b"",
        "huge_dims.idx": idx(IMAGES, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], bytes(4)),
        "huge_dims_product.idx": idx(IMAGES, [65536, 65536, 65536], bytes(4)),
        "huge_count_small_images.idx": idx(IMAGES, [0x7FFFFFFF, 1, 1], bytes(16)),
        "huge_labels.idx": idx(LABELS, [0xFFFFFFFF], bytes(2)),
    }


# ---------------------------------------------------------------- gzip

def gzip_corpus():
    text = b"cudp gunzip seed: the quick brown fox jumps over the lazy dog\n" * 2
    valid = gzip_member(text)
    stored = gzip_member(pattern(300), deflated=deflate_stored(pattern(300)))
    images = idx(IMAGES, [2, 2, 2], bytes(range(8)))
    return {
        "valid.gz": valid,
        "stored.gz": stored,
        "empty_payload.gz": gzip_member(b"", deflated=deflate_stored(b"")),
        "two_members.gz": valid + stored,
        "idx_images.gz": gzip_member(images),
        "run_of_zeros.gz": gzip_member(b"\x00", run_of_last=258 * 64),
        # 1 byte + 4097 * 258 bytes: 1,057,027 bytes, past the fuzzer's 1 MiB cap.
        "bomb_over_cap.gz": gzip_member(b"A", run_of_last=258 * 4097),
        "truncated_stream.gz": valid[:len(valid) // 2],
        "truncated_trailer.gz": valid[:-4],
        "header_only.gz": valid[:10],
        "magic_only.gz": valid[:2],
        "bad_crc.gz": gzip_member(text, crc=0xDEADBEEF),
        "bad_isize.gz": gzip_member(text, isize=12345),
        "isize_huge_hint.gz": gzip_member(text, isize=0xFFFFFFFF),
        "trailing_junk.gz": valid + b"junk",
        "trailing_zeros.gz": valid + bytes(8),
        "bad_method.gz": bytes([0x1F, 0x8B, 7]) + valid[3:],
        "bad_block_type.gz": valid[:10] + bytes([0x07]) + valid[11:],
        "zlib_not_gzip.z": bytes([0x78, 0x9C]) + deflate_fixed(text) + struct.pack(">I", zlib.adler32(text)),
        "empty.gz": b"",
    }


# ---------------------------------------------------------------- CIFAR-10

RECORD = 1 + 3 * 32 * 32


def cifar_record(label, seed):
    return bytes([label]) + pattern(RECORD - 1, seed)


def cifar_corpus():
    one = cifar_record(3, 1)
    return {
        "one_record.bin": one,
        "two_records.bin": cifar_record(0, 2) + cifar_record(9, 3),
        "short_record.bin": one[:100],
        "record_less_one_byte.bin": one[:-1],
        "record_and_partial.bin": one + one[:17],
        "label_out_of_range.bin": cifar_record(10, 4),
        "label_255.bin": cifar_record(255, 5),
        "label_only.bin": b"\x01",
        "empty.bin": b"",
    }


# ---------------------------------------------------------------- safetensors

def safetensors(header, data=b"", length=None):
    """8-byte little-endian header length, the header bytes, the data."""
    if isinstance(header, str):
        header = header.encode()
    return struct.pack("<Q", len(header) if length is None else length) + header + data


def floats(*values):
    return struct.pack("<%df" % len(values), *values)


def tensor(dtype="F32", shape=(2,), offsets=(0, 8)):
    return '{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}' % (
        dtype, ",".join(str(d) for d in shape), offsets[0], offsets[1])


def safetensors_corpus():
    one = '{"w":%s}' % tensor(shape=(2,), offsets=(0, 8))
    two = '{"__metadata__":{"model":"seed-pool","step":"3"},"b":%s,"w":%s}' % (
        tensor(shape=(2,), offsets=(24, 32)), tensor(shape=(2, 3), offsets=(0, 24)))
    data2 = floats(1, 2, 3, 4, 5, 6) + floats(-0.5, 0.25)
    return {
        "one_tensor.safetensors": safetensors(one, floats(1.5, -2.0)),
        "two_tensors_metadata.safetensors": safetensors(two, data2),
        "padded_header.safetensors": safetensors(one + "      ", floats(1.5, -2.0)),
        "scalar.safetensors": safetensors('{"s":%s}' % tensor(shape=(), offsets=(0, 4)), floats(7)),
        "zero_dim.safetensors": safetensors('{"z":%s}' % tensor(shape=(0, 3), offsets=(0, 0))),
        "no_tensors.safetensors": safetensors("{}"),
        "metadata_only.safetensors": safetensors('{"__metadata__":{"a":"b"}}'),
        "unicode_names.safetensors": safetensors(
            '{"caf\\u00e9 \\ud83d\\ude00 \\"q\\"":%s}' % tensor(shape=(1,), offsets=(0, 4)),
            floats(1)),
        "short_file.safetensors": b"\x08\x00\x00",
        "header_length_past_end.safetensors": safetensors(one, floats(1.5, -2.0), length=4096),
        "header_length_absurd.safetensors": safetensors(one, floats(1.5, -2.0), length=1 << 62),
        "header_length_max.safetensors": safetensors(one, b"", length=(1 << 64) - 1),
        "header_length_zero.safetensors": safetensors("", b"{}"),
        "non_json_header.safetensors": safetensors("not json at all", floats(1)),
        "header_not_object.safetensors": safetensors("[1,2,3]"),
        "truncated_json.safetensors": safetensors(one[:-3], floats(1.5, -2.0)),
        "trailing_comma.safetensors": safetensors(one[:-1] + ",}", floats(1.5, -2.0)),
        "duplicate_name.safetensors": safetensors(
            '{"w":%s,"w":%s}' % (tensor(offsets=(0, 8)), tensor(offsets=(8, 16))), bytes(16)),
        "deep_nesting.safetensors": safetensors("[" * 70 + "]" * 70),
        "bad_escape.safetensors": safetensors('{"a\\x":%s}' % tensor(), bytes(8)),
        "lone_surrogate.safetensors": safetensors('{"\\udc00":%s}' % tensor(), bytes(8)),
        "control_char.safetensors": safetensors('{"a\x01":%s}' % tensor(), bytes(8)),
        "offsets_past_end.safetensors": safetensors('{"w":%s}' % tensor(offsets=(8, 16)), bytes(8)),
        "offsets_reversed.safetensors": safetensors('{"w":%s}' % tensor(offsets=(8, 0)), bytes(8)),
        "offsets_huge.safetensors": safetensors(
            '{"w":%s}' % tensor(offsets=(9223372036854775800, 9223372036854775807)), bytes(8)),
        "offsets_over_int64.safetensors": safetensors(
            '{"w":%s}' % tensor(offsets=(0, 18446744073709551616)), bytes(8)),
        "offsets_one_item.safetensors": safetensors(
            '{"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}}', bytes(8)),
        "overlap.safetensors": safetensors(
            '{"a":%s,"b":%s}' % (tensor(offsets=(0, 8)), tensor(offsets=(4, 12))), bytes(12)),
        "hole.safetensors": safetensors(
            '{"a":%s,"b":%s}' % (tensor(offsets=(0, 8)), tensor(offsets=(12, 20))), bytes(20)),
        "trailing_data.safetensors": safetensors(one, floats(1.5, -2.0) + bytes(4)),
        "shape_mismatch.safetensors": safetensors('{"w":%s}' % tensor(shape=(3,)), bytes(8)),
        "shape_negative.safetensors": safetensors('{"w":%s}' % tensor(shape=(-2,)), bytes(8)),
        "shape_float.safetensors": safetensors('{"w":%s}' % tensor(shape=(2.0,)), bytes(8)),
        "shape_huge.safetensors": safetensors(
            '{"w":%s}' % tensor(shape=(1 << 31, 1 << 31, 1 << 31)), bytes(8)),
        # 2^62 elements: numel * 4 bytes wrapped to 0 and matched data_offsets [0, 0].
        "shape_numel_wraps.safetensors": safetensors(
            '{"w":%s}' % tensor(shape=(1 << 62,), offsets=(0, 0))),
        "shape_numel_wraps_2d.safetensors": safetensors(
            '{"w":%s}' % tensor(shape=(1 << 31, 1 << 31), offsets=(0, 0))),
        "dtype_f16.safetensors": safetensors('{"w":%s}' % tensor(dtype="F16", offsets=(0, 4)), bytes(4)),
        "missing_key.safetensors": safetensors('{"w":{"dtype":"F32","shape":[2]}}', bytes(8)),
        "extra_key.safetensors": safetensors(
            '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', bytes(8)),
        "metadata_not_string.safetensors": safetensors('{"__metadata__":{"a":1}}'),
        "tensor_not_object.safetensors": safetensors('{"w":[1,2]}'),
        # A refusal that quotes "internal check failed" is still a refusal (the
        # fuzzer's first 30 s found that the harness went by the message).
        "quotes_internal_check.safetensors": safetensors(
            '{"w":{"dtype":"F32","shainternal check failed":[2],"data_offsets":[0,8]}}', bytes(8)),
    }


# ---------------------------------------------------------------- device specs

def device_spec_corpus():
    specs = {
        "auto": "auto", "cpu": "cpu", "cpu_1": "cpu:1", "cpu_4": "cpu:4", "cpu_1024": "cpu:1024",
        "cpu_0": "cpu:0", "cpu_1025": "cpu:1025", "cpu_negative": "cpu:-1", "cpu_empty": "cpu:",
        "cpu_seven_digits": "cpu:0000004", "cpu_plus": "cpu:+4", "cpu_space": "cpu: 4",
        "cuda": "cuda", "cuda_0": "cuda:0", "cuda_0_1": "cuda:0,1", "cuda_0_0_0_0": "cuda:0,0,0,0",
        "cuda_7": "cuda:7", "cuda_empty": "cuda:", "cuda_trailing_comma": "cuda:0,",
        "cuda_leading_comma": "cuda:,0", "cuda_double_comma": "cuda:0,,1", "cuda_letter": "cuda:0,x",
        "cuda_huge_id": "cuda:999999", "cuda_overflow_id": "cuda:99999999999",
        "cuda_negative": "cuda:-1", "cpu_list": "cpu:0,1", "tpu": "tpu:0", "empty": "",
        "upper": "CPU:2", "auto_suffix": "auto:2", "nul_inside": "cpu:2\x00",
        "quotes_internal_check": "cudinternal check failed5,5",
    }
    return {name + ".txt": text.encode() for name, text in specs.items()}


# ---------------------------------------------------------------- flags

def argv(*args):
    """A command line as fuzz_flags reads it: arguments separated by '\\0'."""
    return "\x00".join(args).encode()


def flags_corpus():
    lines = {
        "empty": argv(),
        "help": argv("--help"),
        "steps_lr": argv("--steps", "2", "--lr", "0.01"),
        "inline_values": argv("--steps=2", "--lr=0.01", "--batch=8"),
        "bool_flags": argv("--nesterov", "--no-shuffle", "--drop-last=true"),
        "bool_bad_value": argv("--nesterov=yes"),
        "devices_cpu4": argv("--devices", "cpu:4", "--threads", "1", "--parallel", "ddp",
                             "--check-replicas"),
        "devices_cuda": argv("--devices", "cuda:0,1", "--output-device", "cuda:1"),
        "output_device_id": argv("--devices", "cpu:2", "--output-device", "1"),
        "output_device_outside": argv("--devices", "cpu:2", "--output-device", "cpu:5"),
        "data_fashion": argv("--data", "fashion-mnist", "--mean", "0.286", "--std", "0.353"),
        "data_cifar": argv("--data", "cifar10:/tmp/none", "--mean", "0.49,0.48,0.45",
                           "--std", "0.25,0.24,0.26", "--train-size", "100"),
        "data_mean_synthetic": argv("--data", "synthetic", "--mean", "0.5"),
        "milestones": argv("--epochs", "10", "--lr-milestones", "5,8", "--lr-gamma", "0.5"),
        "milestones_bad": argv("--lr-milestones", "8,5"),
        "chunk_bytes": argv("--chunk-bytes", "64K", "--reduce", "star", "--edge", "copy"),
        "chunk_bytes_wraps": argv("--chunk-bytes", "17179869185G"),
        "chunk_bytes_big": argv("--chunk-bytes", "999999999999K"),
        "seed_max": argv("--seed", "18446744073709551615"),
        "seed_overflow": argv("--seed", "18446744073709551616"),
        "seed_negative": argv("--seed", "-1"),
        "seed_space_negative": argv("--seed", " -1"),
        "seed_plus": argv("--seed", "+5"),
        "threads_overflow": argv("--devices", "cpu", "--threads", "4294967296"),
        "threads_int_max": argv("--devices", "cpu", "--threads", "2147483648"),
        "batch_huge": argv("--batch", "9223372036854775807"),
        "batch_overflow": argv("--batch", "9223372036854775808"),
        "lr_not_number": argv("--lr", "abc"),
        "lr_inf": argv("--lr", "inf"),
        "lr_hex": argv("--lr", "0x1p-3"),
        "lr_gamma_huge": argv("--lr-milestones", "1", "--lr-gamma", "1e300"),
        "lr_tiny": argv("--lr", "1e-320"),
        "momentum_negative": argv("--momentum", "-0.5"),
        "nesterov_dampening": argv("--nesterov", "--dampening", "0.1"),
        "input_shape": argv("--input", "1x28x28", "--model", "seed"),
        "input_bad": argv("--input", "3x32"),
        "given_twice": argv("--lr", "1", "--lr", "2"),
        "unknown_flag": argv("--no-such-flag", "1"),
        "bare_dashes": argv("--"),
        "positional": argv("train"),
        "missing_value": argv("--lr"),
        "empty_value": argv("--lr="),
        "equals_name": argv("--=3"),
        "steps_and_epochs": argv("--steps", "3", "--epochs", "2"),
        "save_every": argv("--save-every", "10"),
        "resume_and_init": argv("--resume", "a.safetensors", "--init", "b.safetensors"),
        "log_every_zero": argv("--log-every", "0"),
        "quotes_internal_check": argv("-internal check failed", "--seed6-0"),
    }
    return {name + ".argv": data for name, data in lines.items()}


CORPORA = {
    "idx": idx_corpus,
    "gzip": gzip_corpus,
    "cifar": cifar_corpus,
    "safetensors": safetensors_corpus,
    "device_spec": device_spec_corpus,
    "flags": flags_corpus,
}


def expected_files():
    files = {}
    for corpus, make in CORPORA.items():
        for name, data in make().items():
            files[os.path.join(corpus, name)] = data
    return files


def main(argv_):
    check = "--check" in argv_
    rest = [a for a in argv_ if a != "--check"]
    out = rest[0] if rest else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    files = expected_files()
    if check:
        problems = []
        present = set()
        for corpus in CORPORA:
            folder = os.path.join(out, corpus)
            if os.path.isdir(folder):
                present.update(os.path.join(corpus, n) for n in os.listdir(folder))
        for path, data in sorted(files.items()):
            full = os.path.join(out, path)
            if path not in present:
                problems.append("missing: %s" % full)
            else:
                with open(full, "rb") as f:
                    if f.read() != data:
                        problems.append("differs from make_corpus.py's output: %s" % full)
        for path in sorted(present - set(files)):
            problems.append("not written by make_corpus.py: %s" % os.path.join(out, path))
        for p in problems:
            print(p)
        if problems:
            print("run /usr/bin/python3 fuzz/make_corpus.py to rewrite fuzz/corpus (or add the "
                  "file to make_corpus.py)")
            return 1
        print("fuzz corpus: %d files, as make_corpus.py writes them" % len(files))
        return 0
    for corpus in CORPORA:
        folder = os.path.join(out, corpus)
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if os.path.join(corpus, name) not in files:
                os.remove(os.path.join(folder, name))
    for path, data in files.items():
        with open(os.path.join(out, path), "wb") as f:
            f.write(data)
    print("wrote %d files under %s" % (len(files), out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
