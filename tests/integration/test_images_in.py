"""Images in: the OpenAI SDK sends image_url parts (a data URL and an https URL) through the gateway; each
upstream must receive the image in its own native form (Vertex Gemini: inlineData / fileData parts; Vertex
Claude: base64 image blocks; Azure: the OpenAI parts untouched; Cohere v2: image_url content)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest
from test_vertex import service_account

from conftest import Gateway, Mock

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
DATA_URL = f"data:image/png;base64,{PNG_B64}"
HTTPS_URL = "https://example.com/cat.jpg"
V1 = "/v1/projects/img-proj/locations/us-central1/publishers"
CONTENT = [{"type": "text", "text": "what is this?"},
           {"type": "image_url", "image_url": {"url": DATA_URL}},
           {"type": "image_url", "image_url": {"url": HTTPS_URL, "detail": "low"}}]


@pytest.fixture(scope="module")
def gw(tmp_module: Path, mock: Mock) -> Iterator[Gateway]:
    cfg = {"providers": {
        "vertex": {"keys": [{"name": "v", "value": "ya29.images", "models": [], "weight": 1,
                             "vertex_key_config": {"project_id": "img-proj", "region": "us-central1",
                                                   "auth_credentials": service_account(mock.url + "/token")}}],
                   "network_config": {"base_url": mock.url}},
        "azure": {"keys": [{"name": "az", "value": "az-key", "models": [], "weight": 1,
                            "azure_key_config": {"endpoint": mock.url, "api_version": "2024-10-21"}}]},
        "cohere": {"keys": [{"name": "c", "value": "co-key", "models": [], "weight": 1}],
                   "network_config": {"base_url": mock.url}},
    }}
    g = Gateway(tmp_module, cfg)
    yield g
    g.stop()


def _last(mock: Mock, path: str) -> dict[str, Any]:
    reqs = mock.requests(path)
    assert reqs, f"the upstream received nothing on {path}"
    return reqs[-1]


@pytest.mark.conformance("openai", "vertex", "images in")
def test_openai_images_reach_vertex_gemini_as_inline_and_file_data(gw: Gateway, mock: Mock) -> None:
    r = gw.openai().chat.completions.create(model="vertex/gemini-2.5-flash",
                                            messages=[{"role": "user", "content": CONTENT}])
    assert r.choices[0].message.content
    sent = _last(mock, f"{V1}/google/models/gemini-2.5-flash:generateContent")
    assert sent["query"] == "key=ya29.images" and "authorization" not in sent["headers"]  # an API key
    parts = sent["body"]["contents"][0]["parts"]
    assert parts[0] == {"text": "what is this?"}
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": PNG_B64}}
    assert parts[2] == {"fileData": {"mimeType": "image/jpeg", "fileUri": HTTPS_URL}}


@pytest.mark.conformance("openai", "vertex", "images in")
def test_openai_image_reaches_vertex_claude_as_base64_block(gw: Gateway, mock: Mock) -> None:
    gw.openai().chat.completions.create(model="vertex/claude-sonnet-4@20250514", max_tokens=50, messages=[
        {"role": "user", "content": CONTENT[:2]}])
    blocks = _last(mock, f"{V1}/anthropic/models/claude-sonnet-4@20250514:rawPredict")["body"]["messages"][0]["content"]
    assert blocks[0] == {"type": "text", "text": "what is this?"}
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}}


@pytest.mark.conformance("openai", "azure", "images in")
def test_openai_images_reach_azure_untouched(gw: Gateway, mock: Mock) -> None:
    chunks = list(gw.openai().chat.completions.create(model="azure/gpt-4o", stream=True,
                                                      messages=[{"role": "user", "content": CONTENT}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    sent = _last(mock, "/openai/deployments/gpt-4o/chat/completions")
    assert sent["headers"]["api-key"] == "az-key"
    assert sent["body"]["messages"] == [{"role": "user", "content": CONTENT}]


@pytest.mark.conformance("openai", "cohere", "images in")
def test_openai_images_reach_cohere_as_v2_image_url_content(gw: Gateway, mock: Mock) -> None:
    r = gw.openai().chat.completions.create(model="cohere/command-a-vision-07-2025",
                                            messages=[{"role": "user", "content": CONTENT}])
    assert r.choices[0].message.content
    sent = _last(mock, "/v2/chat")
    assert sent["headers"]["authorization"] == "Bearer co-key"
    assert sent["body"]["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": DATA_URL}},
        {"type": "image_url", "image_url": {"url": HTTPS_URL, "detail": "low"}}]}]


class _Images(BaseHTTPRequestHandler):
    """A loopback image host: /cat.png answers a PNG (no Content-Type, so the bytes decide), else 404."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        if self.path == "/cat.png":
            data = base64.b64decode(PNG_B64)
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def image_host() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    srv.paths = []  # type: ignore[attr-defined]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.conformance("openai", "vertex", "images in")
def test_url_image_for_vertex_claude_is_fetched_and_sent_as_base64(gw: Gateway, mock: Mock,
                                                                   image_host: ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{image_host.server_address[1]}/cat.png"
    chunks = list(gw.openai().chat.completions.create(
        model="vertex/claude-sonnet-4@20250514", max_tokens=50, stream=True,
        messages=[{"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                               {"type": "image_url", "image_url": {"url": url}}]}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    sent = _last(mock, f"{V1}/anthropic/models/claude-sonnet-4@20250514:streamRawPredict")["body"]
    assert sent["messages"][0]["content"][1] == {
        "type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}}
    assert image_host.paths == ["/cat.png"]  # type: ignore[attr-defined]

    missing = f"http://127.0.0.1:{image_host.server_address[1]}/gone.jpg"
    with pytest.raises(openai.BadRequestError) as e:
        gw.openai().chat.completions.create(
            model="vertex/claude-sonnet-4@20250514", max_tokens=50,
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": missing}}]}])
    msg = e.value.response.json()["error"]["message"]
    assert f"could not fetch {missing}" in msg and "data: URL" in msg
