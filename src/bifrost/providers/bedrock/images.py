"""Inline http(s) image URLs for the Converse API, which takes image bytes (or S3), never a URL.

As Bifrost does (core/providers/utils FetchAndEncodeURL, used by its Bedrock Converse converter), an
`image_url` part whose URL is http(s) is downloaded by the gateway and sent as `image.source.bytes`:
at most 25 MiB, 20 s, http/https only (redirects too, at most 5), and only from public addresses
(loopback, private, link-local, CGNAT... are refused so a client cannot make the gateway read
internal hosts). BIFROST_IMAGE_FETCH_ALLOW_PRIVATE=1 lifts the address check (an image host on a
private network, or tests on loopback). Every failure is a 400 that names the URL (without its query
string or credentials) and what to do. Downloads run in a worker thread (urllib); this path is rare
and the thread keeps the size bound and timeout simple.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

MAX_IMAGE_BYTES = 25 * 1024 * 1024
TIMEOUT_S = 20.0
MAX_REDIRECTS = 5
ALLOW_PRIVATE_ENV = "BIFROST_IMAGE_FETCH_ALLOW_PRIVATE"
_EXTENSIONS = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
               "webp": "image/webp"}
_TYPES = frozenset(_EXTENSIONS.values())


class ImageFetchError(ValueError):
    """An image URL could not be inlined; the message says why and what to do."""


def allow_private_from_env() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in ("1", "true", "yes")


def redact(url: str) -> str:
    """The URL without credentials, query or fragment (they may hold secrets)."""
    u = urlsplit(url)
    host = u.hostname or ""
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{host}{port}{u.path}"


def _check_target(url: str, allow_private: bool) -> None:
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ImageFetchError(f"image_url {redact(url)}: only http(s) URLs can be fetched; send the image as a "
                              "base64 data: URL instead")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(u.hostname, u.port or (443 if u.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ImageFetchError(f"image_url {redact(url)}: cannot resolve {u.hostname} ({exc.strerror or exc}); "
                              "check the URL or send the image as a base64 data: URL") from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not ip.is_global:
            raise ImageFetchError(f"image_url {redact(url)}: refusing to fetch from the non-public address {ip}; "
                                  f"send the image as a base64 data: URL, or set {ALLOW_PRIVATE_ENV}=1 on the "
                                  "gateway to allow private image hosts")


class _Redirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.count = 0

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        self.count += 1
        if self.count > MAX_REDIRECTS:
            raise ImageFetchError(f"image_url {redact(req.full_url)}: more than {MAX_REDIRECTS} redirects")
        _check_target(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_image(url: str, allow_private: bool = False) -> tuple[str, str]:
    """(media type, base64 bytes) of the image at `url`; ImageFetchError on any failure."""
    _check_target(url, allow_private)
    opener = urllib.request.build_opener(_Redirects(allow_private))
    req = urllib.request.Request(url, headers={"User-Agent": "bifrost-gateway", "Accept": "image/*"})
    try:
        with opener.open(req, timeout=TIMEOUT_S) as resp:
            data = resp.read(MAX_IMAGE_BYTES + 1)
            ctype = resp.headers.get_content_type() if resp.headers.get("Content-Type") else ""
    except ImageFetchError:
        raise
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:  # urllib refuses redirects to non-http(s) schemes this way
            raise ImageFetchError(f"image_url {redact(url)}: the image host redirected to a URL that is not "
                                  "followed (only http(s) redirects are); use the image's final URL") from None
        raise ImageFetchError(f"image_url {redact(url)}: the image host answered HTTP {exc.code}; check the URL "
                              "or send the image as a base64 data: URL") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ImageFetchError(f"image_url {redact(url)}: could not download the image ({reason}); check the URL "
                              "or send the image as a base64 data: URL") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageFetchError(f"image_url {redact(url)}: the image is larger than {MAX_IMAGE_BYTES // 2**20} MiB; "
                              "send a smaller image")
    if ctype not in _TYPES:
        ext = urlsplit(url).path.rsplit(".", 1)[-1].lower()
        ctype = _EXTENSIONS.get(ext, ctype)
    if ctype not in _TYPES:
        raise ImageFetchError(f"image_url {redact(url)}: unsupported image type {ctype or 'unknown'!r}; Bedrock "
                              "takes png, jpeg, gif or webp")
    return ctype, base64.b64encode(data).decode()


def _remote_url(part: Any) -> str | None:
    if not isinstance(part, dict) or part.get("type") != "image_url":
        return None
    iu = part.get("image_url")
    url = iu.get("url") if isinstance(iu, dict) else iu
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


async def inline_image_urls(body: dict, allow_private: bool) -> dict:
    """`body` with every http(s) image_url replaced by a data: URL (downloads run concurrently).
    The request body is not changed in place: a fallback to another provider gets it as sent."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return body
    urls = list(dict.fromkeys(u for m in messages if isinstance(m, dict) and isinstance(m.get("content"), list)
                              for p in m["content"] if (u := _remote_url(p)) is not None))
    if not urls:
        return body
    fetched = await asyncio.gather(*(asyncio.to_thread(fetch_image, u, allow_private) for u in urls))
    data_urls = {u: f"data:{mime};base64,{b64}" for u, (mime, b64) in zip(urls, fetched, strict=True)}
    new_messages = []
    for m in messages:
        if isinstance(m, dict) and isinstance(m.get("content"), list):
            content = []
            for p in m["content"]:
                u = _remote_url(p)
                content.append({**p, "image_url": {"url": data_urls[u]}} if u is not None else p)
            m = {**m, "content": content}
        new_messages.append(m)
    return {**body, "messages": new_messages}
