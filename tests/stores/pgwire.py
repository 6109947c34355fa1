"""A loopback TCP server speaking just enough of the PostgreSQL wire protocol (v3) to refuse a login.

The local test PostgreSQL uses trust auth with ssl=off, so it can never answer "wrong password" or
"this server requires SSL". This server sends the bytes a real server sends in those cases:
- "wrong_password": AuthenticationCleartextPassword ('R', code 3, what pg_hba method `password`
  asks), then, after the client's PasswordMessage, ErrorResponse FATAL 28P01
  `password authentication failed for user "<user>"`.
- "require_ssl": a server whose pg_hba.conf only has `hostssl` lines. A client starting without SSL
  gets ErrorResponse FATAL 28000 `no pg_hba.conf entry for host "127.0.0.1", user "<user>",
  database "<db>", no encryption`. An SSLRequest is answered 'N' (we hold no certificate).
"""

from __future__ import annotations

import socket
import struct
import threading

SSL_REQUEST = 80877103
PROTOCOL_3 = 196608


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("client went away")
        buf += chunk
    return buf


def error_response(code: str, message: str, routine: str) -> bytes:
    fields = [(b"S", b"FATAL"), (b"V", b"FATAL"), (b"C", code.encode()), (b"M", message.encode()),
              (b"F", b"auth.c"), (b"L", b"333"), (b"R", routine.encode())]
    body = b"".join(k + v + b"\0" for k, v in fields) + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class FakePostgres:
    """Serve `mode` on 127.0.0.1:<port> in a daemon thread until `close()`."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.seen: list[str] = []  # what each client sent first: "ssl_request" / "startup"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self._session(conn)
                except (ConnectionError, TimeoutError, OSError):
                    pass

    def _session(self, conn: socket.socket) -> None:
        while True:
            (length,) = struct.unpack("!I", _recv_exact(conn, 4))
            payload = _recv_exact(conn, length - 4)
            (code,) = struct.unpack("!I", payload[:4])
            if code == SSL_REQUEST:
                self.seen.append("ssl_request")
                conn.sendall(b"N")
                continue
            assert code == PROTOCOL_3, code
            self.seen.append("startup")
            parts = payload[4:].split(b"\0")
            params = dict(zip(parts[0::2], parts[1::2], strict=False))
            user = params.get(b"user", b"").decode()
            db = params.get(b"database", user.encode()).decode()
            if self.mode == "require_ssl":
                conn.sendall(error_response(
                    "28000", f'no pg_hba.conf entry for host "127.0.0.1", user "{user}", database "{db}", '
                             "no encryption", "ClientAuthentication"))
                return
            conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
            kind = _recv_exact(conn, 1)
            (plen,) = struct.unpack("!I", _recv_exact(conn, 4))
            _recv_exact(conn, plen - 4)
            assert kind == b"p", kind
            conn.sendall(error_response("28P01", f'password authentication failed for user "{user}"',
                                        "auth_failed"))
            return
