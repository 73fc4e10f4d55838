"""The use cases, one module each: verify, enrol (and subject, erase),
search, read_document. `flow(services, request) -> result`: no Chalice, no
JSON bodies (chalicelib/http/bodies.py), no choice of adapter
(chalicelib/backends.py). Beside them: `payload` (body -> fields), `request`
(the Request value), `admission` (bounded compute)."""
