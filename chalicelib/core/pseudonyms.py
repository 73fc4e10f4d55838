"""What logs may carry instead of an id that names a person: an HMAC-SHA256
under a secret pepper (IPS_LOG_PEPPER), cut to 16 hex digits. Enough to
follow one subject's lines; without the pepper an id like ``cust-42`` cannot
be recovered by trying ids, as it could from a plain hash."""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(pepper: bytes, *parts: str) -> str:
    message = "\n".join(parts).encode("utf-8")
    return hmac.new(pepper, message, hashlib.sha256).hexdigest()[:16]
