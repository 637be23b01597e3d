#!/usr/bin/python3
"""cudp's safetensors files <-> PyTorch state_dicts, with numpy and torch only.

Debian has no python3-safetensors, so this is a small reader and writer of the
format (https://github.com/huggingface/safetensors, "Format"): an 8-byte
little-endian header length N, N bytes of JSON {"__metadata__": {str: str},
name: {"dtype", "shape", "data_offsets": [begin, end]}}, then the raw
little-endian data. cudp reads F32 only; this module reads and writes the
common dtypes so that any state_dict round-trips.

    from safetensors_torch import load, save
    state_dict, metadata = load("run.safetensors")     # OrderedDict of tensors
    net.load_state_dict(state_dict)
    save("init.safetensors", net.state_dict(), {"format": "pt"})

Command line (run with /usr/bin/python3, which sees Debian's python3-torch):
    tools/safetensors_torch.py show FILE            names, shapes, dtypes, metadata
    tools/safetensors_torch.py to-torch FILE OUT.pt     torch.save of the state_dict
    tools/safetensors_torch.py from-torch IN.pt OUT.safetensors
The writer writes a temporary file, fsyncs it and renames it, as cudp does.
"""
import collections
import json
import os
import struct
import sys

import numpy as np
import torch

_DTYPES = {  # safetensors name -> (torch dtype, numpy dtype or None)
    "F64": (torch.float64, "<f8"), "F32": (torch.float32, "<f4"),
    "F16": (torch.float16, "<f2"), "BF16": (torch.bfloat16, None),
    "I64": (torch.int64, "<i8"), "I32": (torch.int32, "<i4"),
    "I16": (torch.int16, "<i2"), "I8": (torch.int8, "i1"),
    "U8": (torch.uint8, "u1"), "BOOL": (torch.bool, "?"),
}
_NAMES = {torch_dtype: name for name, (torch_dtype, _) in _DTYPES.items()}
_MAX_HEADER = 100_000_000


class FormatError(ValueError):
    """A file that is not a well-formed safetensors file; the message names it."""


def load(path):
    """Returns (OrderedDict name -> torch.Tensor, metadata dict) in file order."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError(f"{path}: {len(data)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or n > len(data) - 8:
        raise FormatError(f"{path}: header length {n} runs past the end ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: header is not JSON: {e}") from None
    try:
        return _decode(path, header, memoryview(data)[8 + n:])
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"{path}: malformed header: {e!r}") from None


def _decode(path, header, body):
    metadata = header.pop("__metadata__", {}) or {}
    entries = sorted(header.items(), key=lambda item: item[1]["data_offsets"][0])
    tensors = collections.OrderedDict()
    for name, info in entries:
        dtype = info.get("dtype")
        if dtype not in _DTYPES:
            raise FormatError(f"{path}: tensor '{name}': unknown dtype {dtype!r}")
        begin, end = info["data_offsets"]
        shape = [int(d) for d in info["shape"]]
        torch_dtype, np_dtype = _DTYPES[dtype]
        itemsize = torch.tensor([], dtype=torch_dtype).element_size()
        if not 0 <= begin <= end <= len(body) or end - begin != itemsize * int(np.prod(shape)):
            raise FormatError(f"{path}: tensor '{name}': data_offsets [{begin}, {end}] do not hold "
                              f"shape {shape} of {dtype} inside {len(body)} data bytes")
        raw = bytes(body[begin:end])
        if np_dtype is None:  # bfloat16: the high halves of float32s
            halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            t = torch.from_numpy(halves.view(np.float32).copy()).to(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=np_dtype).copy())
        tensors[name] = t.reshape(shape)
    return tensors, dict(metadata)


def save(path, state_dict, metadata=None):
    """Writes state_dict's tensors (in its order) and string metadata, atomically."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, tensor in state_dict.items():
        t = tensor.detach().cpu().contiguous()
        if t.dtype not in _NAMES:
            raise ValueError(f"{name}: dtype {t.dtype} has no safetensors name")
        if t.dtype == torch.bfloat16:
            raw = (t.float().numpy().view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            raw = t.numpy().astype(_DTYPES[_NAMES[t.dtype]][1], copy=False).tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)  # data starts 8-byte aligned
    temp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(temp, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for raw in chunks:
                f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def strip_module_prefix(state_dict):
    """nn.DataParallel's state_dict names ('module.conv1.weight') without the prefix."""
    return collections.OrderedDict(
        (k[len("module."):] if k.startswith("module.") else k, v) for k, v in state_dict.items())


def _main(argv):
    if len(argv) == 2 and argv[0] == "show":
        tensors, metadata = load(argv[1])
        for k, v in sorted(metadata.items()):
            print(f"metadata {k} = {v}")
        for name, t in tensors.items():
            print(f"{name:24s} {str(t.dtype):16s} {list(t.shape)}")
        return 0
    if len(argv) == 3 and argv[0] == "to-torch":
        tensors, _ = load(argv[1])
        torch.save(tensors, argv[2])
        return 0
    if len(argv) == 3 and argv[0] == "from-torch":
        state_dict = torch.load(argv[1], map_location="cpu")
        save(argv[2], strip_module_prefix(state_dict), {"format": "pt"})
        return 0
    print(__doc__.split("Command line")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
