"""The server's logs: JSON lines only, and nothing that could quote the input."""

from __future__ import annotations

import json
import logging
import sys
import threading
from types import TracebackType
from typing import Any

from chalicelib.core.logs import frames, log_event

# --- logs: JSON lines only, and nothing that could quote the input ------------


# waitress's and Chalice's messages can embed a request path or an exception
# text (client input). Only these fixed kinds are named; the message never is.
_KNOWN_MESSAGES = (
    ("Task queue depth", "task_queue_depth"),
    ("Exception while serving", "exception_while_serving"),
    ("Exception when servicing", "exception_while_serving"),
    ("Client disconnected while serving", "client_disconnected"),
    ("total open connections reached", "connection_limit_reached"),
    ("total open connections dropped", "connection_limit_cleared"),
    ("Socket error", "socket_error"),
    ("Unexpected exception when flushing", "flush_error"),
    ("server accept() threw", "accept_error"),
    ("Serving on", "serving"),
    ("Caught exception", "app_exception"),
)


class SafeJsonFormatter(logging.Formatter):
    """Third-party log records as one JSON line: logger, level, a fixed kind
    and, for exceptions, the type and frames (never the message)."""

    def format(self, record: logging.LogRecord) -> str:
        text = str(record.msg)
        kind = next((k for prefix, k in _KNOWN_MESSAGES if text.startswith(prefix)), "other")
        fields: dict[str, Any] = {
            "event": "server_log",
            "logger": record.name,
            "level": record.levelname,
            "kind": kind,
        }
        if kind == "task_queue_depth" and isinstance(record.args, tuple) and record.args:
            depth = record.args[0]
            fields["depth"] = depth if isinstance(depth, int) else None
        if record.exc_info and record.exc_info[0] is not None:
            fields["error"] = record.exc_info[0].__name__
            fields["frames"] = frames(record.exc_info[2])
        return json.dumps(fields, separators=(",", ":"))


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeJsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # waitress logs through "waitress" and "waitress.queue"; Chalice through
    # the app's name ("ips"), with a handler of its own that prints text.
    for name in ("waitress", "waitress.queue", "ips"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log_event("uncaught_exception", error=kind.__name__, frames=frames(tb))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        log_event(
            "uncaught_exception",
            error=args.exc_type.__name__,
            frames=frames(args.exc_traceback),
            thread=getattr(args.thread, "name", None),
        )

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
