"""Leaf modules every layer may import: the error catalogue, size limits,
JSON logs, timing, per-process caches, encryption, the data dir. They import
nothing of ips above them."""
