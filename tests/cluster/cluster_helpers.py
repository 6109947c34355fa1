"""Helpers for the cluster tests: ports free for both TCP and UDP, and polling with a deadline."""

from __future__ import annotations

import socket
import time
from typing import Any

from conftest import free_port


def free_udp_tcp_port() -> int:
    for _ in range(50):
        port = free_port()  # never the same port twice in one test process
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port for TCP and UDP")


def wait_for(pred: Any, timeout: float, what: str) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")
