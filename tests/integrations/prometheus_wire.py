"""A tiny encoder of Prometheus remote-write bodies (WriteRequest protobuf, snappy block format),
written from the proto definitions, for tests and the benchmark."""

import struct

import cramjam

STALE_NAN_BITS = 0x7FF0000000000002


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64: ten bytes, two's complement
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def label(name: str, value: str) -> bytes:
    return field(1, field(1, name.encode()) + field(2, value.encode()))


def sample(value: float | int, timestamp_ms: int, *, raw_bits: int | None = None) -> bytes:
    """A Sample; `raw_bits` writes the double's bits as given (stale markers)."""
    bits = struct.pack("<Q", raw_bits) if raw_bits is not None else struct.pack("<d", value)
    return field(2, b"\x09" + bits + b"\x10" + varint(timestamp_ms))


def series(labels: dict[str, str], samples: list[tuple[float, int]]) -> bytes:
    """A TimeSeries: labels sorted by name (as Prometheus sends them), then samples."""
    body = b"".join(label(k, v) for k, v in sorted(labels.items()))
    body += b"".join(sample(v, t) for v, t in samples)
    return field(1, body)


def write_request(*series_bytes: bytes) -> bytes:
    """Snappy-compressed WriteRequest of the given encoded series."""
    return bytes(cramjam.snappy.compress_raw(b"".join(series_bytes)))


def compress(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


def ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes):
    """(number, wire type, value) of a message: bytes for length-delimited, int for varints."""
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        wire = key & 7
        if wire == 2:
            length, pos = _read_varint(buf, pos)
            yield key >> 3, wire, buf[pos : pos + length]
            pos += length
        elif wire == 1:
            yield key >> 3, wire, buf[pos : pos + 8]
            pos += 8
        elif wire == 0:
            value, pos = _read_varint(buf, pos)
            yield key >> 3, wire, value
        else:
            raise ValueError(f"wire type {wire}")


def decode(body: bytes) -> list[tuple[list[tuple[str, str]], list[tuple[int, int]]]]:
    """A remote-write body as [(labels [(name, value)], samples [(double bits, timestamp ms)])]."""
    out = []
    for number, _, raw_series in _fields(bytes(cramjam.snappy.decompress_raw(body))):
        if number != 1:
            continue
        labels, samples = [], []
        for inner, _, item in _fields(raw_series):
            if inner == 1:
                parts = {n: v.decode() for n, _, v in _fields(item)}
                labels.append((parts.get(1, ""), parts.get(2, "")))
            elif inner == 2:
                parts = {n: v for n, _, v in _fields(item)}
                bits = struct.unpack("<Q", parts.get(1, b"\x00" * 8))[0]
                stamp = parts.get(2, 0)
                samples.append((bits, stamp - (1 << 64) if stamp >= 1 << 63 else stamp))
        out.append((labels, samples))
    return out


def encode(decoded) -> bytes:
    """The inverse of decode (labels in the order given)."""
    parts = []
    for labels, samples in decoded:
        body = b"".join(label(n, v) for n, v in labels)
        body += b"".join(sample(0, t, raw_bits=bits) for bits, t in samples)
        parts.append(field(1, body))
    return write_request(*parts)
