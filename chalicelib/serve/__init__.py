"""`make run`: the local stage served by waitress, a maintained production
WSGI server, through Chalice's own request translation (chalice.local's
LocalGateway turns each HTTP request into the API Gateway event the app
handles, as `chalice local` does). Never imported by the Lambda path; its
dependencies (waitress, prometheus-client) are in requirements-local.txt.

    python -m chalicelib.serve [--host 127.0.0.1] [--port 8000] [--stage local]

Modules: settings (the server's settings), logs (JSON lines), metrics
(Prometheus), gateway (the WSGI app over Chalice's LocalGateway),
waitress_server (strict framing, timeouts, drain), main (start and stop).

What this adds to the app (docs/operations.md has the why and the settings):
- limits before reading: a Content-Length over the body limit gets 413
  BODY_TOO_LARGE before a byte of the body is read; bad lengths, missing
  lengths and chunked bodies get a JSON 4xx; slow and idle connections are
  closed after a timeout. waitress receives every request asynchronously in
  one thread, so a slow client never holds a worker thread;
- admission (chalicelib/admission.py): the client-gone signal for requests
  that wait for a turn;
- JSON log lines only, with no request line, header value or body fragment;
  one access event per request (method, route template, status, duration);
- GET /health, GET /health/ready and GET /metrics (Prometheus), served by
  this wrapper only, so they never exist on the cloud stages;
- graceful stop: on SIGTERM stop accepting, finish what is in flight (at
  most IPS_DRAIN_TIMEOUT_S), exit 0.
"""
