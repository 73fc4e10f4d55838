"""Leaf modules every layer may import: the error catalogue, size limits,
JSON logs, timing, per-process caches. They import nothing else of ips."""
