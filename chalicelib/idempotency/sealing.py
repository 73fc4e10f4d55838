"""The sealer of stored answers until the shared one (chalicelib/core/crypto.py,
issue 17's store half) is wired in: AES-256-GCM under a key that exists only
in this process's memory. A stored answer therefore opens only in the
process that stored it; after a restart an earlier key's replay is answered
409 IDEMPOTENCY_IN_PROGRESS until it expires, never with the work done twice."""

from __future__ import annotations

import os


class ProcessSealer:
    def __init__(self) -> None:
        self._key = os.urandom(32)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        return nonce + AESGCM(self._key).encrypt(nonce, plaintext, aad)

    def unseal(self, blob: bytes, aad: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._key).decrypt(blob[:12], blob[12:], aad)


_process_sealer = ProcessSealer()


def process_sealer() -> ProcessSealer:
    return _process_sealer
