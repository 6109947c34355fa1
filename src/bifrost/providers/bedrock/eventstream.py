"""Encoding AWS event-stream messages (`application/vnd.amazon.eventstream`); decoding is botocore's."""

from __future__ import annotations

import binascii
import struct


def _headers(pairs: list[tuple[str, str]]) -> bytes:
    out = b""
    for name, value in pairs:
        n, v = name.encode(), value.encode()
        out += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v  # 7 = string value
    return out


def encode_message(event_type: str, payload: bytes, message_type: str = "event") -> bytes:
    """Prelude (total length, headers length, CRC32), headers, JSON payload, message CRC32."""
    kind = ":event-type" if message_type == "event" else ":exception-type"
    hb = _headers([(kind, event_type), (":content-type", "application/json"), (":message-type", message_type)])
    prelude = struct.pack(">II", 12 + len(hb) + len(payload) + 4, len(hb))
    msg = prelude + struct.pack(">I", binascii.crc32(prelude)) + hb + payload
    return msg + struct.pack(">I", binascii.crc32(msg))
