"""The cloud stages' IAM policies and templates for issue 17: the tenant
mapping readable only under the stage's own SSM path, the idempotency table
the stage's config names (with TTL), logs only to the function's own group."""
import json
from pathlib import Path

import pytest

CHALICE = Path(__file__).resolve().parents[2] / ".chalice"
CONFIG = json.loads((CHALICE / "config.json").read_text())


def statements(stage, action):
    policy = json.loads((CHALICE / f"policy-{stage}.json").read_text())
    return [s for s in policy["Statement"] if action in s["Action"]]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_tenant_mapping_is_read_only_under_the_stage_path(stage):
    (found,) = statements(stage, "ssm:GetParametersByPath")
    assert found["Action"] == ["ssm:GetParametersByPath"]       # no Put, no Delete
    assert found["Resource"] == f"arn:aws:ssm:*:*:parameter/ips/{stage}/tenants"
    configured = CONFIG["stages"][stage]["environment_variables"].get("IPS_TENANTS_PARAMETER")
    assert configured in (None, f"/ips/{stage}/tenants")
    # prod fails closed: it needs its tenants in SSM before it lets anyone in
    assert CONFIG["stages"]["prod"]["environment_variables"]["IPS_TENANTS_PARAMETER"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_idempotency_table_matches_config_policy_and_template(stage):
    table = CONFIG["stages"][stage]["environment_variables"]["IPS_IDEMPOTENCY_TABLE"]
    (found,) = statements(stage, "dynamodb:DeleteItem")
    assert found["Resource"] == f"arn:aws:dynamodb:*:*:table/{table}"
    assert "dynamodb:Scan" not in found["Action"]
    template = json.loads((CHALICE / f"collection-{stage}.json").read_text())
    props = template["Resources"]["IdempotencyTable"]["Properties"]
    assert props["TableName"] == table
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_logs_only_to_the_function_log_group(stage):
    (found,) = statements(stage, "logs:PutLogEvents")
    group = f"arn:aws:logs:*:*:log-group:/aws/lambda/ips-{stage}"
    assert found["Resource"] == [group, group + ":*"]
