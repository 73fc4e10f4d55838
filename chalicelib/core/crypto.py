"""Encryption at rest: AES-256-GCM (the ``cryptography`` package) for the
biometric and personal data ips keeps (enrolled descriptors, records,
review photos), so a leaked file or backup holds no usable data.

Two layers:

- ``seal(key, plaintext, aad)`` / ``unseal(key, blob, aad)``: one 32-byte
  key. A blob is ``b"\\x01" + nonce (12 bytes, random) + ciphertext + tag``.
  ``aad`` (associated data) is authenticated, not stored: it binds a blob to
  its place (say tenant, subject and column), so a blob copied into another
  row does not open there.
- ``Sealer(provider)``: envelope encryption over a ``KeyProvider`` seam. Each
  sealed value carries a short reference to the key that sealed it, so keys
  can rotate and several stay readable:

  - ``StaticKeys`` (local stage): ``IPS_DATA_KEY``, base64 of 32 random
    bytes (``python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"``);
    older keys stay readable through ``IPS_DATA_KEYS_OLD``. Without
    ``IPS_DATA_KEY``, ``local_keys`` keeps a generated key in a 0600 file
    OUTSIDE the data directory (``$XDG_CONFIG_HOME/ips/data.key``), so that
    ``make run`` works with no set-up and a copy of the data directory alone
    opens nothing. Production sets ``IPS_DATA_KEY`` from a secret store.
  - ``KmsKeys`` (cloud stages): a KMS data key (``GenerateDataKey``, AES_256)
    used for a bounded time, its KMS-encrypted form stored as the reference
    and opened again with ``Decrypt`` (cached), so the plaintext key never
    leaves memory and access to the data needs ``kms:Decrypt`` on the key.

Nothing here logs a key, a plaintext or a blob.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_FORMAT = b"\x01"  # seal()'s blob layout
_ENVELOPE = b"\x02"  # Sealer's: + len(ref) (2 bytes, big endian) + ref + seal() blob
OVERHEAD = len(_FORMAT) + NONCE_BYTES + TAG_BYTES  # seal(): bytes added to a plaintext


class SealError(ValueError):
    """A blob that does not open: wrong key, wrong aad, or altered bytes."""


class DataKeyError(ValueError):
    """A data key that cannot be used (malformed IPS_DATA_KEY, unreadable file)."""


@functools.lru_cache(maxsize=64)
def _aead(key: bytes) -> AESGCM:
    """The cipher for a key, made once (loading ``cryptography`` waits for
    the first use: importing this module, as the settings do, stays cheap)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(_checked(key))


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM under ``key`` with a fresh random nonce."""
    nonce = os.urandom(NONCE_BYTES)
    return _FORMAT + nonce + _aead(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """The plaintext of ``seal(key, plaintext, aad)``; SealError otherwise."""
    if len(blob) < OVERHEAD or blob[:1] != _FORMAT:
        raise SealError("not a sealed value")
    from cryptography.exceptions import InvalidTag

    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return _aead(key).decrypt(nonce, blob[1 + NONCE_BYTES :], aad)
    except InvalidTag:
        raise SealError("the value does not open with this key and context") from None


def _checked(key: bytes) -> bytes:
    if len(key) != KEY_BYTES:
        raise DataKeyError(f"a data key is {KEY_BYTES} bytes")
    return key


def parse_key(text: str, name: str = "IPS_DATA_KEY") -> bytes:
    """A key from its base64 text; DataKeyError naming the variable otherwise."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise DataKeyError(f"{name} must be base64 (of {KEY_BYTES} random bytes)") from None
    if len(key) != KEY_BYTES:
        raise DataKeyError(f"{name} must be base64 of {KEY_BYTES} bytes, not {len(key)}")
    return key


def new_key_text() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


# --- the key-provider seam -----------------------------------------------------


@dataclass(frozen=True)
class DataKey:
    ref: bytes  # stored beside each value: names (static) or wraps (KMS) the key
    secret: bytes = field(repr=False)


class KeyProvider(Protocol):
    def current(self) -> DataKey:
        """The key new values are sealed with."""
        ...

    def key(self, ref: bytes) -> bytes:
        """The plaintext key a stored reference names; DataKeyError if unknown."""
        ...


class Sealer:
    """Seals with the provider's current key; unseals with whichever key a
    value names."""

    def __init__(self, provider: KeyProvider) -> None:
        self.provider = provider

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        data_key = self.provider.current()
        ref = data_key.ref
        return _ENVELOPE + len(ref).to_bytes(2, "big") + ref + seal(data_key.secret, plaintext, aad)

    def unseal(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 3 or blob[:1] != _ENVELOPE:
            raise SealError("not a sealed value")
        size = int.from_bytes(blob[1:3], "big")
        ref, inner = blob[3 : 3 + size], blob[3 + size :]
        return unseal(self.provider.key(ref), inner, aad)

    def overhead(self) -> int:
        """Bytes a sealed value adds to its plaintext with the current key."""
        return 3 + len(self.provider.current().ref) + OVERHEAD


def key_id(key: bytes) -> bytes:
    """A static key's reference: 8 bytes of a hash of it (names the key,
    reveals nothing usable)."""
    return b"s" + hashlib.sha256(b"ips data key id\x00" + key).digest()[:8]


class StaticKeys:
    """One current key and any older ones still readable (rotation: set the
    new key as IPS_DATA_KEY and the old one in IPS_DATA_KEYS_OLD)."""

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = DataKey(key_id(_checked(current)), current)
        self._by_ref = {key_id(k): k for k in (*previous, current)}

    def current(self) -> DataKey:
        return self._current

    def key(self, ref: bytes) -> bytes:
        found = self._by_ref.get(ref)
        if found is None:
            raise DataKeyError("the value was sealed with a key this process does not have")
        return found


def default_key_file(env: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME/ips/data.key (~/.config by default): beside the
    user's configuration, not under IPS_DATA_DIR."""
    base = env.get("XDG_CONFIG_HOME", "").strip() or os.path.join("~", ".config")
    return Path(os.path.expanduser(base)) / "ips" / "data.key"


def local_keys(env: Mapping[str, str]) -> StaticKeys:
    """The local stage's keys: IPS_DATA_KEY (and IPS_DATA_KEYS_OLD, comma
    separated), else the key in IPS_DATA_KEY_FILE (default
    ``default_key_file``), generated there (0600 in a 0700 directory) on
    first use."""
    previous = tuple(
        parse_key(part, "IPS_DATA_KEYS_OLD")
        for part in env.get("IPS_DATA_KEYS_OLD", "").split(",")
        if part.strip()
    )
    text = env.get("IPS_DATA_KEY", "").strip()
    if text:
        return StaticKeys(parse_key(text), previous)
    path = Path(env.get("IPS_DATA_KEY_FILE", "").strip() or default_key_file(env))
    return StaticKeys(_key_file(path.expanduser()), previous)


def _key_file(path: Path) -> bytes:
    from chalicelib.core import datadir

    datadir.private_dir(path.parent)
    try:
        # O_EXCL: two processes starting at once agree on one key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(new_key_text() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    datadir.private_file(path)
    try:
        return parse_key(path.read_text(encoding="ascii"), f"the key file {path}")
    except OSError as exc:
        raise DataKeyError(f"cannot read the key file {path}: {exc.strerror}") from None


class KmsKeys:
    """KMS envelope keys: one data key (GenerateDataKey, AES_256) sealing new
    values for at most ``max_age_s`` seconds, then a fresh one; stored
    references are the KMS-encrypted data keys, opened with Decrypt and kept
    (at most ``cache_size``) in memory. ``context``: the KMS encryption
    context, checked by KMS on Decrypt and visible in CloudTrail (never
    personal data: say {"app": "ips", "purpose": "records"})."""

    def __init__(
        self,
        client: Any,
        key_id: str,
        context: Mapping[str, str],
        max_age_s: float = 300.0,
        cache_size: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._key_id = key_id
        self._context = dict(context)
        self._max_age_s = max_age_s
        self._cache_size = cache_size
        self._clock = clock
        self._lock = threading.Lock()
        self._current: tuple[DataKey, float] | None = None
        self._opened: OrderedDict[bytes, bytes] = OrderedDict()

    def current(self) -> DataKey:
        with self._lock:
            now = self._clock()
            if self._current is None or now - self._current[1] >= self._max_age_s:
                answer = self._client.generate_data_key(
                    KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=self._context
                )
                data_key = DataKey(bytes(answer["CiphertextBlob"]), bytes(answer["Plaintext"]))
                self._current = (data_key, now)
                self._remember(data_key.ref, data_key.secret)
            return self._current[0]

    def key(self, ref: bytes) -> bytes:
        with self._lock:
            found = self._opened.get(ref)
            if found is not None:
                self._opened.move_to_end(ref)
                return found
        answer = self._client.decrypt(
            CiphertextBlob=ref, KeyId=self._key_id, EncryptionContext=self._context
        )
        secret = bytes(answer["Plaintext"])
        with self._lock:
            self._remember(ref, secret)
        return secret

    def _remember(self, ref: bytes, secret: bytes) -> None:
        self._opened[ref] = secret
        self._opened.move_to_end(ref)
        while len(self._opened) > self._cache_size:
            self._opened.popitem(last=False)
