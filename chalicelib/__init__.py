"""Logic of the ips identity-verification service; app.py only routes to it."""
