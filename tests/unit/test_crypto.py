"""chalicelib/core/crypto.py: AES-GCM sealing, the key-provider seam, the
local key (IPS_DATA_KEY, or a generated 0600 key file outside the data
directory) and KMS data keys against moto's KMS."""

import base64
import os
import stat

import boto3
import pytest
from moto import mock_aws

from chalicelib.core import crypto

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def test_seal_round_trips_and_hides_the_plaintext():
    plaintext = b"descriptor bytes " * 8
    blob = crypto.seal(KEY, plaintext, b"tenant\x00alice")
    assert plaintext not in blob and plaintext[:16] not in blob
    assert len(blob) == len(plaintext) + crypto.OVERHEAD
    assert crypto.unseal(KEY, blob, b"tenant\x00alice") == plaintext
    assert crypto.seal(KEY, plaintext, b"a") != crypto.seal(KEY, plaintext, b"a")  # fresh nonce


@pytest.mark.parametrize("change", ["key", "aad", "bit", "truncate", "format"])
def test_a_blob_opens_only_with_its_key_and_context(change):
    blob = crypto.seal(KEY, b"secret", b"acme\x00alice")
    key, aad = KEY, b"acme\x00alice"
    if change == "key":
        key = OTHER
    elif change == "aad":
        aad = b"other\x00alice"        # the same blob moved to another tenant's row
    elif change == "bit":
        blob = blob[:-1] + bytes([blob[-1] ^ 1])
    elif change == "truncate":
        blob = blob[:10]
    else:
        blob = b"\x09" + blob[1:]
    with pytest.raises(crypto.SealError):
        crypto.unseal(key, blob, aad)


def test_keys_must_be_32_bytes_of_base64():
    assert crypto.parse_key(base64.b64encode(KEY).decode()) == KEY
    with pytest.raises(crypto.DataKeyError, match="IPS_DATA_KEY"):
        crypto.parse_key("not base64!")
    with pytest.raises(crypto.DataKeyError, match="32 bytes, not 16"):
        crypto.parse_key(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(crypto.DataKeyError):
        crypto.seal(b"short", b"x", b"")


def test_static_keys_rotate_old_values_stay_readable():
    old = crypto.Sealer(crypto.StaticKeys(KEY))
    blob = old.seal(b"enrolled last year", b"ctx")
    rotated = crypto.Sealer(crypto.StaticKeys(OTHER, previous=[KEY]))
    assert rotated.unseal(blob, b"ctx") == b"enrolled last year"
    fresh = rotated.seal(b"today", b"ctx")
    assert crypto.Sealer(crypto.StaticKeys(OTHER)).unseal(fresh, b"ctx") == b"today"
    with pytest.raises(crypto.DataKeyError):      # the old key was dropped
        crypto.Sealer(crypto.StaticKeys(OTHER)).unseal(blob, b"ctx")
    assert KEY not in blob and base64.b64encode(KEY) not in blob
    assert len(fresh) == len(b"today") + rotated.overhead()


def test_local_keys_prefer_the_environment(tmp_path):
    env = {"IPS_DATA_KEY": base64.b64encode(KEY).decode(),
           "IPS_DATA_KEYS_OLD": base64.b64encode(OTHER).decode(),
           "XDG_CONFIG_HOME": str(tmp_path)}
    keys = crypto.local_keys(env)
    assert keys.current().secret == KEY and keys.key(crypto.key_id(OTHER)) == OTHER
    assert not (tmp_path / "ips").exists()          # no key file written


def test_without_a_key_one_is_generated_once_in_a_private_file(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    first = crypto.local_keys(env).current().secret
    path = tmp_path / "config" / "ips" / "data.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert crypto.local_keys(env).current().secret == first      # the same key next start
    os.chmod(path, 0o644)
    crypto.local_keys(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600           # tightened again
    path.write_text("garbage\n")
    with pytest.raises(crypto.DataKeyError, match="key file"):
        crypto.local_keys(env)


def ref_of(blob):
    return blob[3:3 + int.from_bytes(blob[1:3], "big")]


@pytest.fixture
def kms():
    with mock_aws():
        client = boto3.client("kms", region_name="us-east-1")
        key_id = client.create_key(Description="ips test")["KeyMetadata"]["KeyId"]
        yield client, key_id


def test_kms_data_keys_seal_and_open_through_decrypt(kms):
    client, key_id = kms
    now = [0.0]
    keys = crypto.KmsKeys(client, key_id, {"app": "ips", "purpose": "test"}, max_age_s=300,
                          clock=lambda: now[0])
    sealer = crypto.Sealer(keys)
    first = sealer.seal(b"record", b"acme")
    assert keys.current().ref == keys.current().ref           # reused within max_age_s
    now[0] = 301.0
    second = sealer.seal(b"later", b"acme")
    assert ref_of(first) != ref_of(second)                      # a fresh data key after it
    assert keys.current().secret not in first and keys.current().secret not in second
    # Another process (an empty cache) opens both through KMS Decrypt.
    reader = crypto.Sealer(crypto.KmsKeys(client, key_id, {"app": "ips", "purpose": "test"}))
    assert reader.unseal(first, b"acme") == b"record"
    assert reader.unseal(second, b"acme") == b"later"
    from botocore.exceptions import ClientError
    wrong_context = crypto.Sealer(crypto.KmsKeys(client, key_id, {"app": "ips", "purpose": "x"}))
    with pytest.raises(ClientError):          # KMS checks the encryption context
        wrong_context.unseal(first, b"acme")
