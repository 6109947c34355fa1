"""What the mock answers: deterministic text, tool-call arguments, token counts and embeddings.

Pure functions only (small bounded caches aside); the wire shapes live in `wire.py`.
"""

from __future__ import annotations

import base64
import functools
import struct
from typing import Any

import msgspec

_WORDS = (
    "This is a mock response from the Bifrost mock provider, "
    "streamed one word at a time so that gateways and clients can be tested without an API key."
).split()

_encode = msgspec.json.encode


@functools.lru_cache(maxsize=64)
def word_pieces(k: int) -> tuple[str, ...]:
    """k text pieces ("This", " is", " a", ...) whose concatenation is the answer."""
    n = len(_WORDS)
    return tuple((" " if i else "") + _WORDS[i % n] for i in range(k))


@functools.lru_cache(maxsize=64)
def word_text(k: int) -> str:
    return "".join(word_pieces(k))


def split_text(text: str, k: int) -> list[str]:
    """Split text into at most k non-empty pieces of near-equal length (at least one piece)."""
    if not text:
        return [""]
    k = max(1, min(k, len(text)))
    size, extra = divmod(len(text), k)
    out = []
    pos = 0
    for i in range(k):
        step = size + (1 if i < extra else 0)
        out.append(text[pos : pos + step])
        pos += step
    return out


def approx_tokens(x: Any) -> int:
    """A deterministic token estimate of request input: ~4 characters per token, 1 per token id,
    plus 3 per chat message. Never fails on odd shapes."""
    t = type(x)
    if t is str:
        return (len(x) + 3) // 4
    if t is list:
        n = 0
        for v in x:
            n += approx_tokens(v)
        return n
    if t is dict:
        n = 3 if "role" in x else 0
        for key in _TEXT_KEYS:
            v = x.get(key)
            if v is not None:
                n += approx_tokens(v)
        return n
    if t is int or t is float:
        return 1
    return 0


_TEXT_KEYS = ("content", "text", "input", "output", "arguments", "name")


# ---------------------------------------------------------------- sample values from JSON schema

_PLACE_NAMES = ("location", "city", "place", "destination", "origin", "address", "town")


def sample_from_schema(schema: Any, name: str = "", defs: dict | None = None, depth: int = 0) -> Any:
    """A small value that validates against common JSON schemas (tool parameters, json_schema formats)."""
    if not isinstance(schema, dict) or depth > 8:
        return "mock"
    if defs is None:
        defs = schema.get("$defs") or schema.get("definitions") or {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = defs.get(ref.rsplit("/", 1)[-1])
        return sample_from_schema(target, name, defs, depth + 1) if target else {}
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        alts = schema.get(key)
        if isinstance(alts, list) and alts:
            usable = [a for a in alts if not (isinstance(a, dict) and a.get("type") == "null")] or alts
            return sample_from_schema(usable[0], name, defs, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), typ[0] if typ else None)
    if typ is None:
        typ = "object" if "properties" in schema else "string"
    if typ == "object":
        props = schema.get("properties") or {}
        return {k: sample_from_schema(v, k, defs, depth + 1) for k, v in props.items() if isinstance(k, str)}
    if typ == "array":
        n = max(1, int(schema.get("minItems") or 1))
        return [sample_from_schema(schema.get("items") or {}, name, defs, depth + 1) for _ in range(min(n, 3))]
    if typ == "integer":
        return int(schema.get("minimum") or 1)
    if typ == "number":
        return float(schema.get("minimum") or 1.5)
    if typ == "boolean":
        return True
    if typ == "null":
        return None
    lname = name.lower()
    if any(p in lname for p in _PLACE_NAMES):
        return "Paris"
    if "unit" in lname:
        return "celsius"
    return "mock"


def sample_json(schema: Any) -> str:
    return _encode(sample_from_schema(schema)).decode()


# ---------------------------------------------------------------- embeddings


@functools.lru_cache(maxsize=4096)
def embedding_floats(key: str, dim: int) -> tuple[float, ...]:
    """A deterministic unit vector for `key`, rounded to float32 so the float and base64 forms agree."""
    x = _fnv1a(key.encode("utf-8", "surrogatepass"))
    vals = []
    for _ in range(dim):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        vals.append((x >> 8) / 8388608.0 - 1.0)
    norm = sum(v * v for v in vals) ** 0.5 or 1.0
    packed = struct.pack(f"<{dim}f", *(v / norm for v in vals))
    return struct.unpack(f"<{dim}f", packed)


@functools.lru_cache(maxsize=4096)
def embedding_base64(key: str, dim: int) -> str:
    return base64.b64encode(struct.pack(f"<{dim}f", *embedding_floats(key, dim))).decode()


def _fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data[:4096]:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h ^ len(data)


def embedding_inputs(inp: Any) -> list[tuple[str, int]] | None:
    """Normalise an embeddings `input` to [(key, tokens)]; None if the shape is invalid."""
    if isinstance(inp, str):
        return [(inp, max(1, (len(inp) + 3) // 4))]
    if isinstance(inp, list) and inp:
        if all(isinstance(v, int) for v in inp):  # one token array
            return [(",".join(map(str, inp)), len(inp))]
        out = []
        for v in inp:
            if isinstance(v, str):
                out.append((v, max(1, (len(v) + 3) // 4)))
            elif isinstance(v, list) and all(isinstance(t, int) for t in v):
                out.append((",".join(map(str, v)), len(v)))
            else:
                return None
        return out
    return None
