#!/usr/bin/env python3
"""Inputs and outputs of the firmware check (scripts/firmware.sh), without numpy.

  firmware_io.py inputs MODEL.mote DIR [SAMPLES.npy]
                                         writes DIR/input_<k>.bin (raw bytes, for the firmware)
                                         and DIR/input_<k>.npy (for `mote run`) per model input,
                                         from a fixed-seed LCG, or for an f32 input from the first
                                         values of a u8 SAMPLES.npy (e.g. the first digit);
                                         prints `NAME=DIR/input_<k>.npy`
  firmware_io.py hex FILE.npy            prints the data bytes of a .npy file in hex

The .mote reader follows docs/FORMAT.md: the section table, IO, TENSORS and STRINGS.
"""
import os
import struct
import sys

# Element type codes (docs/FORMAT.md, ONNX's) -> (numpy descr, size).
DTYPES = {1: ("<f4", 4), 2: ("|u1", 1), 3: ("|i1", 1), 4: ("<u2", 2), 5: ("<i2", 2), 6: ("<i4", 4),
          7: ("<i8", 8), 9: ("|b1", 1), 10: ("<f2", 2), 11: ("<f8", 8), 12: ("<u4", 4), 13: ("<u8", 8)}
STRINGS, TENSORS, IO = 1, 3, 7


def sections(data):
    if data[:8] != b"MOTE\r\n\x1a\n":
        sys.exit("not a .mote file (bad magic)")
    (count,) = struct.unpack_from("<I", data, 24)
    out = {}
    for i in range(count):
        kind, n, off, length = struct.unpack_from("<IIQQ", data, 64 + 24 * i)
        out[kind] = (n, off, length)
    return out


def inputs(data):
    secs = sections(data)
    _, s_off, _ = secs.get(STRINGS, (0, 0, 0))
    n_io, io_off, _ = secs[IO]
    _, t_off, _ = secs[TENSORS]
    for i in range(n_io):
        kind, tensor, name_off, name_len = struct.unpack_from("<IIII", data, io_off + 16 * i)
        if kind != 0:
            continue
        rec = t_off + 64 * tensor
        dtype, rank = data[rec], data[rec + 1]
        dims = struct.unpack_from("<8I", data, rec + 8)[:rank]
        (nbytes,) = struct.unpack_from("<Q", data, rec + 48)
        name = data[s_off + name_off:s_off + name_off + name_len].decode()
        yield name, dtype, dims, nbytes


def npy_bytes(descr, dims, payload):
    shape = "(" + "".join(f"{d}," for d in dims) + ")" if dims else "()"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def lcg_bytes(n, seed):
    """Bytes of a 32-bit LCG (Numerical Recipes constants), the high byte of each state."""
    state, out = seed, bytearray(n)
    for i in range(n):
        state = (1664525 * state + 1013904223) & 0xFFFFFFFF
        out[i] = state >> 24
    return bytes(out)


def npy_data(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    if data[6] == 1:
        (hlen,) = struct.unpack_from("<H", data, 8)
        return data[10:10 + hlen].decode(), data[10 + hlen:]
    (hlen,) = struct.unpack_from("<I", data, 8)
    return data[12:12 + hlen].decode(), data[12 + hlen:]


def payload(dtype, size, count, seed, samples=None):
    if dtype == 1 and samples is not None:
        header, raw = npy_data(samples)
        if "'|u1'" not in header or len(raw) < count:
            sys.exit(f"{samples}: expected u8 samples with at least {count} values")
        return b"".join(struct.pack("<f", float(b)) for b in raw[:count])
    if dtype == 1:  # f32 in [-1, 1)
        raw = lcg_bytes(count, seed)
        return b"".join(struct.pack("<f", (b - 128) / 128) for b in raw)
    if dtype in (2, 3, 9):
        raw = lcg_bytes(count, seed)
        return bytes(b & 1 for b in raw) if dtype == 9 else raw
    sys.exit(f"input element type {dtype}: the firmware check makes only f32, u8, i8 and bool inputs")


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "inputs":
        samples = sys.argv[4] if len(sys.argv) == 5 else None
        data = open(sys.argv[2], "rb").read()
        os.makedirs(sys.argv[3], exist_ok=True)
        for k, (name, dtype, dims, nbytes) in enumerate(inputs(data)):
            if dtype not in DTYPES:
                sys.exit(f"input {name}: unknown element type {dtype}")
            descr, size = DTYPES[dtype]
            body = payload(dtype, size, nbytes // size, seed=12345 + k, samples=samples)
            assert len(body) == nbytes
            base = os.path.join(sys.argv[3], f"input_{k}")
            open(base + ".bin", "wb").write(body)
            open(base + ".npy", "wb").write(npy_bytes(descr, dims, body))
            print(f"{name}={base}.npy")
    elif len(sys.argv) == 3 and sys.argv[1] == "hex":
        print(npy_data(sys.argv[2])[1].hex())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
