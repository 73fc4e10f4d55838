"""The HTTP edge: `handler` (request id, Services, CORS, key, ApiError ->
JSON), `bodies` (results -> JSON), `auth`, `responses`, `api_spec`,
`static_assets`. Only this layer and app.py know Chalice."""
