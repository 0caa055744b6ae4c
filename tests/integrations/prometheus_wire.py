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
