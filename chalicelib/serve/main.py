"""Start, serve and drain: `python -m chalicelib.serve`."""

from __future__ import annotations

import argparse
import os
import signal
import time
from typing import Any

from waitress import wasyncore

from chalicelib.core.logs import add_sink, frames, log_event
from chalicelib.flows import admission
from chalicelib.serve.gateway import State, edge_settings, load_app
from chalicelib.serve.logs import configure_logging
from chalicelib.serve.metrics import Metrics
from chalicelib.serve.settings import ServerSettings, settings_from_env
from chalicelib.serve.waitress_server import Server, build_server


def _preload(state: State) -> None:
    """Load the engine's models before the server listens. dlib holds the
    GIL while it reads its model files, so loading them while serving would
    stall every connection for as long (seconds on a busy machine): until
    they are loaded, connections are refused instead, and /health/ready is
    200 from the first answer on."""
    from chalicelib import backends

    start = time.perf_counter()
    try:
        workers = backends.preload(backends.root().settings())
        if workers is not None:
            log_event(
                "models_loaded", workers=workers, ms=round((time.perf_counter() - start) * 1000, 1)
            )
    except Exception as exc:
        log_event(
            "models_preload_failed", error=type(exc).__name__, frames=frames(exc.__traceback__)
        )
    state.ready.set()
    state.metrics.ready.set(1)


def run(settings: ServerSettings) -> int:
    state = State(Metrics())
    add_sink(state.metrics.on_event)
    server: Server | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        state.stopping.set()
        if server is not None:
            server.pull_trigger()  # wake the loop now rather than at its timeout

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        app, config = load_app(settings.stage)  # applies the stage's settings first
        edge = edge_settings(settings.host, os.environ)
    except ValueError as exc:
        # A malformed setting, or keys missing off loopback: say which, and
        # never listen. Our settings' messages name the variable, never a key.
        configure_logging()
        log_event("startup_refused", reason=str(exc))
        return 2
    configure_logging()  # again: creating the Chalice app gave its logger a text handler
    if settings.preload_models:
        _preload(state)
    else:  # each worker loads its models on first use (the first verification pays)
        state.ready.set()
        state.metrics.ready.set(1)
    server = build_server(settings, state, app, config, edge)

    limits = admission.admission().limits
    log_event(
        "server_start",
        url=f"http://{server.effective_host}:{server.effective_port}",
        host=server.effective_host,
        port=int(server.effective_port),
        threads=server.adj.threads,
        max_in_flight=limits.in_flight,
        max_queued=limits.queued,
        max_wait_s=limits.max_wait_s,
        idle_timeout_s=settings.idle_timeout_s,
        receive_timeout_s=settings.receive_timeout_s,
        drain_timeout_s=settings.drain_timeout_s,
        allowed_hosts=sorted(edge.allowed_hosts),
        metrics="open (loopback, no keys)" if edge.metrics_open else "key required",
    )
    loop_map = server._map
    while not state.stopping.is_set():
        wasyncore.loop(timeout=1.0, map=loop_map, count=1)
    return drain(server, state, settings.drain_timeout_s)


def drain(server: Server, state: State, timeout_s: int) -> int:
    """Stop accepting (the listening socket is closed: new connections are
    refused), answer what was received, then close everything."""
    gate = admission.admission()
    wasyncore.dispatcher.close(server)  # the listener only; the trigger stays
    log_event(
        "draining",
        busy_connections=server.busy_channels(),
        in_flight=gate.running,
        queued=gate.waiting,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        server.close_idle_channels()
        if server.busy_channels() == 0:
            break
        wasyncore.loop(timeout=0.1, map=server._map, count=1)
    left = server.busy_channels()
    for ch in list(server.active_channels.values()):
        ch.handle_close()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
    log_event("stopped", unfinished_connections=left)
    return 0


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    defaults = settings_from_env()
    parser = argparse.ArgumentParser(description="Serve the offline stage through waitress.")
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--stage", default=defaults.stage)
    args = parser.parse_args(argv)
    settings = ServerSettings(
        **{**defaults.__dict__, "host": args.host, "port": args.port, "stage": args.stage}
    )
    return run(settings)
