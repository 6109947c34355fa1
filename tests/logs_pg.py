"""A throwaway PostgreSQL database per test module (the logs store tests use it), and a TCP proxy
that a test can stop and restart to make the database go away and come back."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

DSN = os.environ.get("BIFROST_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE = os.environ.get("BIFROST_TEST_REQUIRE_SERVICES") == "1"


def pg_parts() -> dict[str, str | int]:
    u = urlsplit(DSN)
    return {"host": u.hostname or "127.0.0.1", "port": u.port or 5432, "user": u.username or "postgres",
            "password": u.password or ""}


async def _admin(sql: str) -> None:
    import asyncpg

    p = pg_parts()
    conn = await asyncpg.connect(host=p["host"], port=p["port"], user=p["user"], password=p["password"] or None,
                                 database="postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def admin(sql: str) -> None:
    asyncio.run(_admin(sql))


def postgres_available() -> bool:
    p = pg_parts()
    try:
        with socket.create_connection((str(p["host"]), int(p["port"])), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def pg_database() -> Iterator[str]:
    """CREATE DATABASE bf_<random>, yield its name, drop it (and its connections) afterwards."""
    if not postgres_available():
        if REQUIRE:
            pytest.fail(f"PostgreSQL is not reachable at {DSN} and BIFROST_TEST_REQUIRE_SERVICES=1")
        pytest.skip(f"PostgreSQL is not reachable at {DSN}")
    name = "bf_logs_" + secrets.token_hex(6)
    admin(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
    try:
        yield name
    finally:
        admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def store_config(kind: str, db_name: str | None, port: int | None = None) -> dict[str, object]:
    """A `logs_store` section for config.json."""
    if kind == "sqlite":
        return {"enabled": True, "type": "sqlite", "config": {"path": "logs.db"}}
    p = pg_parts()
    return {"enabled": True, "type": "postgres", "config": {
        "host": p["host"], "port": str(port or p["port"]), "user": p["user"], "password": p["password"],
        "db_name": db_name, "ssl_mode": "disable"}}


class TcpProxy:
    """127.0.0.1:<port> -> target, in a thread. `stop()` closes the listener and every connection
    (the database looks gone); `start()` listens again on the same port (it is back)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self.port))
        ls.listen(64)
        self._listener = ls
        threading.Thread(target=self._accept, args=(ls,), daemon=True).start()

    def _accept(self, ls: socket.socket) -> None:
        while True:
            try:
                client, _ = ls.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
