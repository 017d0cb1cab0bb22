"""Logging: the standard library's ``logging``, configured once per process.

- ``configure_logging(level, json_lines)`` installs one handler on the root logger (calling
  it again replaces that handler, so app factories and tests may call it freely);
- ``JsonLineFormatter`` writes one JSON object per line — ``ts``, ``level``, ``logger``,
  ``message``, every ``extra={...}`` field of the call, ``request_id`` while a request is
  being served, and ``exc_info`` as text when an exception is logged;
- ``request_id_var`` holds the id of the request being served (set by the web layer), so
  every line logged while serving it carries the id, whichever module logs it.

What must stay true: log lines never carry request or response bodies, passwords, API
keys, session tokens or cookies — callers pass only the fields they mean to publish.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

#: the id of the request being served in this context (None outside a request)
request_id_var: ContextVar[str | None] = ContextVar("tsunagu_request_id", default=None)

# attributes every LogRecord has; anything else on a record came from ``extra=``
_STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
) | {"message", "asctime", "taskName"}

_HANDLER_MARK = "_tsunagu_handler"


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for people: time, level, logger, message, then ``key=value`` extras."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
        ]
        request_id = request_id_var.get()
        if request_id is not None and "request_id" not in record.__dict__:
            extras.insert(0, f"request_id={request_id}")
        if extras:
            head, sep, tail = line.partition("\n")
            line = head + " " + " ".join(extras) + sep + tail
        return line


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the call (test runners and
    servers swap it), not to the stream that was current when the handler was made."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> logging.Handler:
    """Install tsunagu's handler on the root logger at ``level``; returns the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonLineFormatter() if json_lines else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
