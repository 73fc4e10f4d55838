"""waitress made strict: framing errors and limits answered with the API's
JSON errors before a body is read, timeouts, and a server that can drain."""

from __future__ import annotations

import time

from chalice.app import Chalice
from chalice.config import Config
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import Error as WaitressError

from chalicelib.core import errors
from chalicelib.core.errors import ApiError
from chalicelib.core.limits import MAX_BODY_BYTES
from chalicelib.core.logs import log_event
from chalicelib.flows import admission
from chalicelib.serve.gateway import (
    EdgeSettings,
    GatewayApp,
    State,
    _error,
    _error_code,
    _status_line,
    access,
)
from chalicelib.serve.settings import SPARE_THREADS, ServerSettings

# --- waitress: strict framing, JSON errors, timeouts, drain ---------------------


class LengthRequired(WaitressError):  # type: ignore[misc]  # waitress is untyped
    code = 411
    reason = "Length Required"


class StrictParser(HTTPRequestParser):  # type: ignore[misc]  # waitress is untyped
    """waitress's parser, refusing chunked bodies once the headers are in
    (before any of the body is read): the service needs the length up front
    to refuse an oversized body without reading it."""

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.headers_finished and self.chunked and self.error is None:  # type: ignore[has-type]
            self.error = LengthRequired("chunked")
            self.completed = True
        if self.error is not None:
            self.expect_continue = False  # never invite a body we refuse
        return int(consumed)


def _api_error_for(error: WaitressError) -> ApiError:
    status = int(error.code)
    if status == 413:
        return errors.body_too_large()
    if status == 411:
        return errors.length_required()
    if status == 431:
        return errors.headers_too_large()
    if status >= 500 and status != 501:
        return errors.internal()
    return errors.malformed_request()  # 400 and 501 (an unknown Transfer-Encoding)


class JsonErrorTask(ErrorTask):  # type: ignore[misc]  # waitress is untyped
    """waitress's framing errors as the API's JSON error. Its own text would
    quote the offending input (a method, a header), so none of it is used."""

    def execute(self) -> None:
        start = time.perf_counter()
        status, headers, body = _error(_api_error_for(self.request.error))
        self.status = _status_line(status)
        self.response_headers.extend(headers)
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        server = self.channel.server
        if isinstance(server, Server):
            access(server.state, "-", "-", status, start, _error_code(status, headers, body))


class DrainAwareTask(WSGITask):  # type: ignore[misc]  # waitress is untyped
    def build_response_header(self) -> bytes:
        server = self.channel.server
        if isinstance(server, Server) and server.state.stopping.is_set():
            self.set_close_on_finish()  # draining: no more requests on this connection
        return bytes(super().build_response_header())


class Channel(HTTPChannel):  # type: ignore[misc]  # waitress is untyped
    parser_class = StrictParser
    task_class = DrainAwareTask
    error_task_class = JsonErrorTask
    receive_started = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.receive_started = time.monotonic()  # first byte of a new request
        return bool(super().received(data))


class Server(TcpWSGIServer):  # type: ignore[misc]  # waitress is untyped
    channel_class = Channel

    def __init__(
        self, application: GatewayApp, state: State, receive_timeout_s: int, adj: Adjustments
    ) -> None:
        self.state = state
        self.receive_timeout_s = receive_timeout_s
        super().__init__(application, adj=adj)

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle connections (channel_timeout)
        # A request still arriving after receive_timeout_s (a client trickling
        # bytes keeps the idle timer from firing): close its connection.
        cutoff = time.monotonic() - self.receive_timeout_s
        for channel in list(self.active_channels.values()):
            if (
                channel.request is not None
                and not channel.requests
                and channel.receive_started < cutoff
                and not channel.will_close
            ):
                channel.will_close = True
                log_event("connection_closed", reason="receive_timeout")

    def busy_channels(self) -> int:
        return sum(
            1
            for ch in self.active_channels.values()
            if ch.requests or ch.total_outbufs_len or ch.request is not None
        )

    def close_idle_channels(self) -> None:
        for ch in list(self.active_channels.values()):
            if not (ch.requests or ch.total_outbufs_len or ch.request is not None):
                ch.will_close = True


def build_server(
    settings: ServerSettings,
    state: State,
    app: Chalice,
    config: Config,
    edge: EdgeSettings | None = None,
) -> Server:
    """Bind and listen (connections are accepted into the backlog from here)."""
    gate = admission.admission()  # first use: limits read after the stage's settings apply
    limits = gate.limits
    threads = settings.threads or limits.in_flight + limits.queued + SPARE_THREADS
    adj = Adjustments(
        host=settings.host,
        port=settings.port,
        threads=threads,
        backlog=settings.backlog,
        connection_limit=settings.connection_limit,
        channel_timeout=settings.idle_timeout_s,
        cleanup_interval=1,
        # waitress refuses a Content-Length >= this, before reading the body
        max_request_body_size=MAX_BODY_BYTES + 1,
        # Bodies (both photos) and answers stay in memory, never in a
        # temporary file: waitress spools past these sizes (512 KiB and 1 MiB
        # by default), and a buffer reaching the limit is spooled, hence + 1.
        inbuf_overflow=MAX_BODY_BYTES + 1,
        outbuf_overflow=MAX_BODY_BYTES + 1,
        # read one request ahead so that a client who hangs up is noticed
        # (waitress.client_disconnected) while its request waits for a turn
        channel_request_lookahead=1,
        ident="ips",
        expose_tracebacks=False,
        log_socket_errors=False,
    )
    server = Server(GatewayApp(app, config, state, edge), state, settings.receive_timeout_s, adj)
    state.metrics.in_flight.set_function(lambda: gate.running)
    state.metrics.queued.set_function(lambda: gate.waiting)
    state.metrics.connections.set_function(lambda: len(server.active_channels))
    return server
