"""URL images and documents inlined for Claude on Vertex AI, which accepts only base64 sources.

Bifrost's inlineRemoteURLSources (core/providers/vertex/vertex.go) fetches every `source.type == "url"` image
or document block of an Anthropic body and replaces it with the bytes as base64 (media type from the bytes
when the answer does not say). Direct Anthropic takes URL sources, so only the Vertex provider does this.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
          (b"GIF89a", "image/gif"), (b"%PDF-", "application/pdf"))


def sniff(data: bytes, url: str) -> str:
    """The media type of fetched bytes: from their magic number, else the URL's extension."""
    for magic, mt in _MAGIC:
        if data.startswith(magic):
            return mt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return guessed or "application/octet-stream"


def url_sources(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The image/document blocks of a Messages body whose source is a URL (top-level message content)."""
    out = []
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        for block in content if isinstance(content, list) else []:
            src = block.get("source") if isinstance(block, dict) else None
            if (block.get("type") in ("image", "document") and isinstance(src, dict) and src.get("type") == "url"
                    and isinstance(src.get("url"), str)):
                out.append(block)
    return out


async def inline_url_sources(body: dict[str, Any], fetch: Callable[[str], Awaitable[bytes]]) -> None:
    """Replace every URL source in `body` with the fetched bytes as a base64 source (in place)."""
    for block in url_sources(body):
        url = block["source"]["url"]
        data = await fetch(url)
        block["source"] = {"type": "base64", "media_type": sniff(data, url),
                           "data": base64.b64encode(data).decode("ascii")}
