"""A local HTTP server that answers like the Kubernetes API's pod list (and its 403), for discovery tests."""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOKEN = "test-sa-token"


class FakeKube:
    def __init__(self, tmp: Path, namespace: str = "team-a") -> None:
        self.pods: list[dict[str, Any]] = []
        self.forbidden = False
        self.requests: list[tuple[str, dict[str, list[str]], str]] = []
        self.sa_dir = tmp / "serviceaccount"
        self.sa_dir.mkdir(parents=True, exist_ok=True)
        (self.sa_dir / "token").write_text(TOKEN + "\n")
        (self.sa_dir / "namespace").write_text(namespace)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urllib.parse.urlsplit(self.path)
                fake.requests.append((url.path, urllib.parse.parse_qs(url.query),
                                      self.headers.get("Authorization", "")))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"kind": "Status", "code": 401, "reason": "Unauthorized",
                                            "message": "Unauthorized"})
                ns = url.path.split("/")[4] if url.path.startswith("/api/v1/namespaces/") else ""
                if fake.forbidden:
                    return self._send(403, {
                        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
                        "message": f'pods is forbidden: User "system:serviceaccount:{ns}:bifrost" cannot list '
                                   f'resource "pods" in API group "" in the namespace "{ns}"'})
                return self._send(200, {"kind": "PodList", "apiVersion": "v1", "items": fake.pods})

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def env(self) -> dict[str, str]:
        return {"BIFROST_K8S_API_URL": self.url, "BIFROST_K8S_SERVICEACCOUNT_DIR": str(self.sa_dir)}

    def add_pod(self, name: str, ip: str | None, phase: str = "Running", deleting: bool = False) -> None:
        meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": "bifrost"}}
        if deleting:
            meta["deletionTimestamp"] = "2026-11-24T10:00:00Z"
        status: dict[str, Any] = {"phase": phase}
        if ip:
            status["podIP"] = ip
        self.pods.append({"metadata": meta, "status": status})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
