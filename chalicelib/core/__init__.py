"""Leaf modules every layer may import; they import nothing of ips above them."""
