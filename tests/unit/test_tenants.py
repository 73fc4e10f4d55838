"""The tenant registry (chalicelib/tenants/): the tenants document, the file
(mode, malformed content, reload), the environment's keys as `default`, the
constant-time key comparison, and the cloud mapping in SSM through moto."""
import json
import os

import boto3
import pytest
from moto import mock_aws

from chalicelib.tenants import LocalRegistry, build_registry, registry
from chalicelib.tenants.base import ALL_SCOPES, Caller, Scope
from chalicelib.tenants.cloud import SsmTenantRegistry, TenantsUnavailable
from chalicelib.tenants.document import parse_document
from chalicelib.tenants.registry import TenantRegistry, key_digest
from chalicelib.tenants.sources import TenantOptions, parse_tenant_options

ACME_KEY = "acme-key-0123456789abcdefghij"
GLOBEX_KEY = "globex-key-0123456789abcdefgh"
ENV_KEY = "env-key-0123456789abcdefghijk"


def document(**extra):
    return {"tenants": [
        {"id": "acme", "keys": [{"id": "acme-web", "sha256": key_digest(ACME_KEY),
                                 "scopes": ["verify", "documents"]}],
         "webhook": {"url": "https://acme.example/ips", "secret": "s" * 32}},
        {"id": "globex", "keys": [{"sha256": key_digest(GLOBEX_KEY).upper(),
                                   "scopes": ["enrol", "search", "erase"]}]},
    ], **extra}


def write(path, content, mode=0o600):
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    os.chmod(path, mode)
    return str(path)


def test_keys_name_their_tenant_and_scopes(tmp_path):
    options = parse_tenant_options({"IPS_TENANTS_FILE": write(tmp_path / "t.json", document())})
    reg = build_registry(options, ssm=lambda: pytest.fail("no SSM on the local stage"))
    assert reg.by_key(ACME_KEY) == Caller("acme", "acme-web",
                                          frozenset({Scope.VERIFY, Scope.DOCUMENTS}))
    globex = reg.by_key(GLOBEX_KEY)
    assert globex.tenant_id == "globex" and globex.scopes == {Scope.ENROL, Scope.SEARCH,
                                                              Scope.ERASE}
    # without an explicit id, the key is named by its digest's first 12 hex digits
    assert globex.key_id == "key-" + key_digest(GLOBEX_KEY)[:12]
    assert GLOBEX_KEY not in globex.key_id
    for wrong in (None, "", ACME_KEY + "x", ACME_KEY.upper(), "x" * 10_000):
        assert reg.by_key(wrong) is None
    assert reg.tenant("acme").webhook.url == "https://acme.example/ips"
    assert "s" * 32 not in repr(reg.tenant("acme"))        # the secret never in a repr
    assert not reg.keyless and not reg.gateway_keys


def test_environment_keys_are_the_default_tenant_with_every_scope(tmp_path):
    options = parse_tenant_options({"IPS_API_KEYS": ENV_KEY,
                                    "IPS_TENANTS_FILE": write(tmp_path / "t.json", document())})
    reg = build_registry(options, ssm=lambda: None)
    caller = reg.by_key(ENV_KEY)
    assert caller.tenant_id == "default" and caller.scopes == ALL_SCOPES
    assert reg.by_key(ACME_KEY).tenant_id == "acme"      # both sources at once
    digest_only = build_registry(parse_tenant_options(
        {"IPS_API_KEY_SHA256": key_digest(ENV_KEY)}), ssm=lambda: None)
    assert digest_only.by_key(ENV_KEY).tenant_id == "default"


def test_no_keys_at_all_is_keyless():
    reg = build_registry(parse_tenant_options({}), ssm=lambda: None)
    assert reg.keyless and reg.by_key(ENV_KEY) is None


def test_every_digest_is_compared_without_early_exit(monkeypatch):
    calls = []
    real = registry.hmac.compare_digest
    monkeypatch.setattr(registry.hmac, "compare_digest",
                        lambda a, b: calls.append(1) or real(a, b))
    reg = TenantRegistry(parse_document(document()))
    assert reg.by_key(ACME_KEY).tenant_id == "acme"      # the first of two keys
    assert len(calls) == 2


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_read_fails_start_up(tmp_path, mode):
    path = write(tmp_path / "t.json", document(), mode)
    with pytest.raises(ValueError, match=r"IPS_TENANTS_FILE must be readable by its owner only"):
        parse_tenant_options({"IPS_TENANTS_FILE": path})


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ({"tenant": []}, "tenants"),
    ({"tenants": [{"id": "Acme", "keys": []}]}, r"tenants\[0\]\.id"),
    ({"tenants": [{"id": "a", "keys": [{"sha256": "ab", "scopes": ["verify"]}]}]}, "sha256"),
    ({"tenants": [{"id": "a", "keys": [{"sha256": "a" * 64, "scopes": ["admin"]}]}]},
     "unknown scope 'admin'"),
    ({"tenants": [{"id": "a", "keys": [{"sha256": "a" * 64, "scopes": []}]}]}, "non-empty"),
    ({"tenants": [{"id": "a", "keys": [{"sha256": "a" * 64, "scope": ["verify"]}]}]},
     "unknown field"),
    ({"tenants": [{"id": "a", "keys": []}, {"id": "a", "keys": []}]}, "tenant id 'a' is listed twice"),
    ({"tenants": [{"id": "a", "keys": [{"sha256": "a" * 64, "scopes": ["verify"]}]},
                  {"id": "b", "keys": [{"sha256": "A" * 64, "scopes": ["verify"]}]}]},
     "key is listed twice"),
    ({"tenants": [{"id": "a", "keys": [], "webhook": {"url": "http://a.example", "secret": "s" * 20}}]},
     "https"),
    ({"tenants": [{"id": "a", "keys": [], "webhook": {"url": "https://a.example", "secret": "s"}}]},
     "secret"),
    ({"tenants": [{"id": "a", "keys": [{"api_key_id": "abc123", "scopes": ["verify"]}]}]},
     "api_key_id keys are for the cloud"),
])
def test_a_malformed_file_fails_start_up_naming_the_variable(tmp_path, content, message):
    path = write(tmp_path / "t.json", content)
    with pytest.raises(ValueError, match=message) as raised:
        parse_tenant_options({"IPS_TENANTS_FILE": path})
    assert "IPS_TENANTS_FILE" in str(raised.value)
    assert "a" * 64 not in str(raised.value)             # never a digest in the message


def test_missing_file_and_clash_with_default(tmp_path):
    with pytest.raises(ValueError, match="IPS_TENANTS_FILE cannot be read"):
        parse_tenant_options({"IPS_TENANTS_FILE": str(tmp_path / "absent.json")})
    clash = write(tmp_path / "t.json", {"tenants": [{"id": "default", "keys": []}]})
    with pytest.raises(ValueError, match="IPS_API_KEYS"):
        parse_tenant_options({"IPS_TENANTS_FILE": clash, "IPS_API_KEYS": ENV_KEY})
    with pytest.raises(ValueError, match="IPS_API_KEYS"):
        parse_tenant_options({"IPS_API_KEYS": "short"})


def test_the_file_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "t.json"
    reg = LocalRegistry(parse_tenant_options({"IPS_TENANTS_FILE": write(path, document())}))
    assert reg.by_key(ACME_KEY) is not None
    revoked = document()
    revoked["tenants"][0]["keys"] = []
    write(path, revoked)
    os.utime(path, ns=(1, 1))                   # a new version even within one mtime tick
    assert reg.by_key(ACME_KEY) is None         # revoked without a restart
    write(path, "{broken")
    os.utime(path, ns=(2, 2))
    assert reg.by_key(GLOBEX_KEY).tenant_id == "globex"   # a bad edit keeps the last good set


# --- cloud: API Gateway key id -> tenant, through SSM (moto) ----------------------

PATH = "/ips/test/tenants"


def cloud_tenant(tenant_id, api_key_id, scopes):
    return json.dumps({"id": tenant_id, "keys": [{"api_key_id": api_key_id, "scopes": scopes}]})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def ssm():
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


def test_cloud_mapping_by_api_gateway_key_id(ssm):
    for i in range(12):                          # more than one page of GetParametersByPath
        ssm.put_parameter(Name=f"{PATH}/t{i}", Type="SecureString",
                          Value=cloud_tenant(f"t{i}", f"key{i}", ["verify"]))
    ssm.put_parameter(Name="/ips/other/tenants/x", Type="SecureString",
                      Value=cloud_tenant("x", "keyx", ["erase"]))
    clock = Clock()
    reg = SsmTenantRegistry(ssm, PATH, cache_s=60, clock=clock)
    assert reg.by_api_key_id("key11") == Caller("t11", "key11", frozenset({Scope.VERIFY}))
    assert reg.by_api_key_id("keyx") is None     # another stage's path is not read
    assert reg.by_api_key_id(None) is None and reg.by_key(ENV_KEY) is None
    assert reg.gateway_keys and not reg.keyless
    # an operator revokes a key: within the cache time it still answers, after it not
    ssm.delete_parameter(Name=f"{PATH}/t11")
    clock.now += 59
    assert reg.by_api_key_id("key11") is not None
    clock.now += 1
    assert reg.by_api_key_id("key11") is None


def test_cloud_mapping_bad_edit_keeps_the_last_good_and_empty_fails_closed(ssm, caplog):
    clock = Clock()
    empty = SsmTenantRegistry(ssm, PATH, cache_s=60, clock=clock)
    assert empty.by_api_key_id("key1") is None   # an empty path lets nobody in
    ssm.put_parameter(Name=f"{PATH}/acme", Type="SecureString",
                      Value=cloud_tenant("acme", "key1", ["verify"]))
    reg = SsmTenantRegistry(ssm, PATH, cache_s=60, clock=clock)
    assert reg.by_api_key_id("key1").tenant_id == "acme"
    ssm.put_parameter(Name=f"{PATH}/acme", Type="SecureString", Overwrite=True,
                      Value='{"id": "acme", "keys": [{"api_key_id": "key1", "scopes": ["root"]}]}')
    clock.now += 60
    assert reg.by_api_key_id("key1").tenant_id == "acme"       # kept, and logged
    misnamed = SsmTenantRegistry(ssm, PATH, cache_s=60, clock=clock)
    ssm.put_parameter(Name=f"{PATH}/acme", Type="SecureString", Overwrite=True,
                      Value=cloud_tenant("globex", "key1", ["verify"]))
    with pytest.raises(TenantsUnavailable):      # nothing good ever read: nobody let in
        misnamed.by_api_key_id("key1")


def test_build_registry_picks_ssm_when_a_parameter_is_set(ssm):
    options = parse_tenant_options({"IPS_TENANTS_PARAMETER": PATH, "IPS_TENANTS_CACHE_S": "5"})
    assert options == TenantOptions(parameter=PATH, cache_s=5.0)
    assert isinstance(build_registry(options, ssm=lambda: ssm), SsmTenantRegistry)
    for bad in ("ips/prod", "/ips/prod/", ""):
        if bad:
            with pytest.raises(ValueError, match="IPS_TENANTS_PARAMETER"):
                parse_tenant_options({"IPS_TENANTS_PARAMETER": bad})
    with pytest.raises(ValueError, match="IPS_TENANTS_CACHE_S"):
        parse_tenant_options({"IPS_TENANTS_CACHE_S": "soon"})
