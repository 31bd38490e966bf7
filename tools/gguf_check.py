#!/usr/bin/env python3
"""Independent GGUF checker: Python standard library only, written from the GGUF spec and
the rules of ggml's reference reader (ggml/src/gguf.cpp), NOT from tern's code. It applies
ggml's strict rules: version 2 or 3, no duplicate keys or tensor names, names shorter than
64 bytes, general.alignment a uint32 power of two, ne0 a multiple of the block size, and
tensor offsets exactly equal to the running sum of alignment-padded sizes.

Usage: gguf_check.py [--expect-tensors N] FILE...   |   gguf_check.py --self-test
"""
import struct
import sys

# ggml type id -> (block elements, bytes per block); 36 is bitnet.cpp's I2_S (N/4 + 32 bytes).
GGML_TYPES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110),
    22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
    29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 36: None, 39: (32, 17),
}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q", 12: "<d"}


class Invalid(Exception):
    pass


class Cursor:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n > len(self.data) - self.pos:
            raise Invalid(f"truncated at offset {self.pos}: need {n} bytes")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        return self.take(self.unpack("<Q"))


def read_value(cur, vtype):
    if vtype == 8:
        return cur.string()
    if vtype == 9:
        elem, count = cur.unpack("<I"), cur.unpack("<Q")
        if elem == 9 or (elem not in SCALAR and elem != 8):
            raise Invalid(f"bad array element type {elem}")
        return [read_value(cur, elem) for _ in range(count)]
    if vtype not in SCALAR:
        raise Invalid(f"bad value type {vtype}")
    return cur.unpack(SCALAR[vtype])


def tensor_bytes(type_id, ne):
    n = ne[0] * ne[1] * ne[2] * ne[3]
    if type_id == 36:
        if ne[0] % 4:
            raise Invalid("I2_S row not a multiple of 4")
        return n // 4 + 32
    blck, size = GGML_TYPES[type_id]
    if ne[0] % blck:
        raise Invalid(f"ne0 {ne[0]} not a multiple of block {blck}")
    return n // blck * size


def check(data):
    cur = Cursor(data)
    if cur.take(4) != b"GGUF":
        raise Invalid("bad magic")
    version = cur.unpack("<I")
    if version not in (2, 3):
        raise Invalid(f"version {version}")
    n_tensors, n_kv = cur.unpack("<q"), cur.unpack("<q")
    if n_tensors < 0 or n_kv < 0:
        raise Invalid("negative count")
    kv = {}
    for _ in range(n_kv):
        key = cur.string()
        if not key or key in kv:
            raise Invalid(f"empty or duplicate key {key!r}")
        vtype = cur.unpack("<I")
        kv[key] = (vtype, read_value(cur, vtype))
    alignment = 32
    if b"general.alignment" in kv:
        vtype, alignment = kv[b"general.alignment"]
        if vtype != 4 or alignment == 0 or alignment & (alignment - 1):
            raise Invalid("general.alignment must be a uint32 power of two")
    infos, names = [], set()
    for _ in range(n_tensors):
        name = cur.string()
        if len(name) >= 64 or name in names:
            raise Invalid(f"bad or duplicate tensor name {name!r}")
        names.add(name)
        n_dims = cur.unpack("<I")
        if n_dims > 4:
            raise Invalid("too many dims")
        ne = [cur.unpack("<q") for _ in range(n_dims)] + [1] * (4 - n_dims)
        if min(ne) < 0:
            raise Invalid("negative dim")
        type_id = cur.unpack("<i")
        if type_id not in GGML_TYPES:
            raise Invalid(f"unknown type {type_id}")
        infos.append((name, ne, type_id, cur.unpack("<Q")))
    data_start = cur.pos
    if n_tensors:
        data_start += (alignment - cur.pos % alignment) % alignment
    expected_offset = 0
    for name, ne, type_id, offset in infos:
        if offset != expected_offset:
            raise Invalid(f"tensor {name!r} offset {offset}, ggml expects {expected_offset}")
        size = tensor_bytes(type_id, ne)
        expected_offset += size + (alignment - size % alignment) % alignment
    if data_start + expected_offset > len(data):
        raise Invalid("tensor data runs past end of file")
    return len(infos), len(kv), data_start


def build(kvs=b"", n_kv=0, infos=b"", n_tensors=0, payload=b"", align=32):
    head = b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + kvs + infos
    head += b"\0" * ((align - len(head) % align) % align if n_tensors else 0)
    return head + payload


def info(name, ne, type_id, offset):
    return struct.pack("<Q", len(name)) + name + struct.pack("<I", len(ne)) + b"".join(
        struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", type_id, offset)


def self_test():
    good = build(infos=info(b"a", [8], 0, 0) + info(b"b", [8], 0, 32), n_tensors=2, payload=b"\0" * 64)
    assert check(good) == (2, 0, 96), check(good)
    bad = {
        "out of order": build(infos=info(b"a", [8], 0, 32) + info(b"b", [8], 0, 0), n_tensors=2, payload=b"\0" * 64),
        "long name": build(infos=info(b"n" * 64, [8], 0, 0), n_tensors=1, payload=b"\0" * 32),
        "u64 alignment": build(kvs=struct.pack("<Q", 17) + b"general.alignment" + struct.pack("<IQ", 10, 32), n_kv=1),
        "truncated": build(infos=info(b"a", [64], 0, 0), n_tensors=1, payload=b"\0" * 32),
        "block": build(infos=info(b"a", [100], 35, 0), n_tensors=1, payload=b"\0" * 96),
    }
    for what, data in bad.items():
        try:
            check(data)
        except Invalid:
            continue
        raise SystemExit(f"self-test: checker accepted a file with {what}")
    print(f"self-test: accepted 1 valid file, rejected {len(bad)} invalid ones")


def main(argv):
    if argv == ["--self-test"]:
        self_test()
        return 0
    expect = None
    if len(argv) >= 2 and argv[0] == "--expect-tensors":
        expect, argv = int(argv[1]), argv[2:]
    status = 0
    for path in argv:
        with open(path, "rb") as f:
            data = f.read()
        try:
            n_tensors, n_kv, data_start = check(data)
        except (Invalid, struct.error) as problem:
            print(f"{path}: INVALID: {problem}")
            status = 1
            continue
        if expect is not None and n_tensors != expect:
            print(f"{path}: expected {expect} tensors, found {n_tensors}")
            status = 1
            continue
        print(f"{path}: ok: {n_tensors} tensors, {n_kv} metadata keys, data at {data_start}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
