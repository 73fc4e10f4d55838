"""GET /metrics: Prometheus counters and histograms, never personal data."""

from __future__ import annotations

from typing import Any

import prometheus_client as prom

# --- metrics ------------------------------------------------------------------


class Metrics:
    """Prometheus metrics, in a registry of their own. Labels are routes,
    methods, statuses, codes and decisions: never anything about a person."""

    def __init__(self) -> None:
        prom.disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series: noise for this service
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.requests = prom.Counter(
            "ips_http_requests", "HTTP requests answered", ["route", "method", "status"], registry=r
        )
        self.duration = prom.Histogram(
            "ips_http_request_duration_seconds",
            "Time from request received to response",
            ["route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.errors = prom.Counter(
            "ips_errors", "Error responses by error code", ["code"], registry=r
        )
        self.decisions = prom.Counter(
            "ips_decisions", "Verification decisions", ["decision"], registry=r
        )
        self.verification = prom.Histogram(
            "ips_verification_duration_seconds",
            "Whole verification (decode to decision)",
            registry=r,
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30),
        )
        self.engine = prom.Histogram(
            "ips_engine_duration_seconds",
            "Face engine comparison",
            registry=r,
            buckets=(0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5),
        )
        self.wait = prom.Histogram(
            "ips_admission_wait_seconds",
            "Time a verification waited for a compute slot",
            registry=r,
            buckets=(0, 0.01, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )
        self.shed = prom.Counter(
            "ips_shed", "Requests refused or dropped by admission control", ["reason"], registry=r
        )
        self.in_flight = prom.Gauge("ips_in_flight", "Verifications computing now", registry=r)
        self.queued = prom.Gauge(
            "ips_queued", "Verifications waiting for a compute slot", registry=r
        )
        self.ready = prom.Gauge("ips_ready", "1 once the engine models are loaded", registry=r)
        self.connections = prom.Gauge("ips_open_connections", "Open client connections", registry=r)

    def on_event(self, event: str, fields: dict[str, Any]) -> None:
        """Log-event sink (chalicelib.core.logs.add_sink)."""
        if event == "verification":
            if fields.get("decision"):
                self.decisions.labels(fields["decision"]).inc()
            if "total_ms" in fields and fields.get("status") == 200:
                self.verification.observe(fields["total_ms"] / 1000)
            if "engine_ms" in fields:
                self.engine.observe(fields["engine_ms"] / 1000)
            if "wait_ms" in fields:
                self.wait.observe(fields["wait_ms"] / 1000)
        elif event == "shed":
            self.shed.labels(str(fields.get("reason"))).inc()

    def on_response(
        self, route: str, method: str, status: int, seconds: float, code: str | None
    ) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.duration.labels(route).observe(seconds)
        if code:
            self.errors.labels(code).inc()

    def render(self) -> bytes:
        return prom.generate_latest(self.registry)
