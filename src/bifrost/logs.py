"""Process logging: JSON lines (Bifrost's default, zerolog-like) or a pretty console style."""

from __future__ import annotations

import logging
import sys
import time

import msgspec

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
          "warning": logging.WARNING, "error": logging.ERROR}
_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error",
          logging.CRITICAL: "fatal"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "level": _NAMES.get(record.levelno, record.levelname.lower()),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return msgspec.json.encode(out).decode()


class PrettyFormatter(logging.Formatter):
    COLORS = {logging.DEBUG: "\033[90m", logging.INFO: "\033[32m", logging.WARNING: "\033[33m",
              logging.ERROR: "\033[31m", logging.CRITICAL: "\033[31m"}

    def __init__(self, color: bool) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%H:%M:%S", time.localtime(record.created))
        lvl = _NAMES.get(record.levelno, record.levelname.lower()).upper()[:4]
        if self.color:
            lvl = f"{self.COLORS.get(record.levelno, '')}{lvl}\033[0m"
        line = f"{ts} {lvl} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str, style: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if style == "pretty":
        handler.setFormatter(PrettyFormatter(color=sys.stderr.isatty()))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    # uvicorn's own loggers go through ours; its per-request access log stays off (hot path).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # Alembic narrates every plugin it loads at INFO; our own line says which migrations ran.
    logging.getLogger("alembic").setLevel(logging.WARNING)
