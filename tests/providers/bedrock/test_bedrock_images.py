"""http(s) image URLs inlined for Converse (providers/bedrock/images.py) against a real loopback server:
the address guard, the size bound, the type check and the messages a user sees."""

from __future__ import annotations

import asyncio
import base64
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bifrost.providers.bedrock import images
from bifrost.providers.bedrock.images import ImageFetchError, fetch_image, inline_image_urls, redact

GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


class _Host(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
            return
        ctype = {"/a.gif": "image/gif", "/noext": "application/octet-stream", "/b.webp": "",
                 "/page": "text/html"}.get(path)
        if ctype is None:
            self.send_error(404)
            return
        self.send_response(200)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(GIF)))
        self.end_headers()
        self.wfile.write(GIF)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Host)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_private_addresses_are_refused_by_default(host: str) -> None:
    with pytest.raises(ImageFetchError) as e:
        fetch_image(host + "/a.gif?key=secret")
    msg = str(e.value)
    assert "non-public address 127.0.0.1" in msg and "BIFROST_IMAGE_FETCH_ALLOW_PRIVATE=1" in msg
    assert "secret" not in msg and "data: URL" in msg


def test_fetch_returns_media_type_and_base64(host: str) -> None:
    assert fetch_image(host + "/a.gif", allow_private=True) == ("image/gif", base64.b64encode(GIF).decode())
    # a generic or missing content type falls back to the file extension
    assert fetch_image(host + "/b.webp", allow_private=True)[0] == "image/webp"


@pytest.mark.parametrize(("path", "words"), [
    ("/missing.png", "HTTP 404"), ("/page", "unsupported image type 'text/html'"),
    ("/noext", "unsupported image type"), ("/redirect", "only http(s) redirects"),
])
def test_fetch_failures_say_what_and_how_to_fix(host: str, path: str, words: str) -> None:
    with pytest.raises(ImageFetchError) as e:
        fetch_image(host + path, allow_private=True)
    assert words in str(e.value)


def test_images_over_the_size_bound_are_refused(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 4)
    with pytest.raises(ImageFetchError) as e:
        fetch_image(host + "/a.gif", allow_private=True)
    assert "larger than" in str(e.value)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ImageFetchError):
        fetch_image("ftp://example.com/a.png", allow_private=True)


def test_inline_replaces_only_remote_urls_and_leaves_the_request_alone(host: str) -> None:
    data_url = "data:image/png;base64,QUJD"
    body = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": host + "/a.gif"}},
        {"type": "image_url", "image_url": {"url": data_url}}]}, {"role": "assistant", "content": "ok"}]}
    out = asyncio.run(inline_image_urls(body, allow_private=True))
    parts = out["messages"][0]["content"]
    assert parts[1]["image_url"]["url"] == "data:image/gif;base64," + base64.b64encode(GIF).decode()
    assert parts[2]["image_url"]["url"] == data_url and out["messages"][1] == body["messages"][1]
    assert body["messages"][0]["content"][1]["image_url"]["url"] == host + "/a.gif"  # not changed in place
    plain = {"messages": [{"role": "user", "content": "hi"}]}
    assert asyncio.run(inline_image_urls(plain, allow_private=False)) is plain


def test_redact_drops_credentials_and_query() -> None:
    assert redact("https://user:pw@img.example.com:8443/a.png?sig=1#f") == "https://img.example.com:8443/a.png"
