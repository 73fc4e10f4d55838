"""scripts/provision_records.py (make provision) in moto, and the SAM
template's table against the script's definition."""

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.records.dynamodb import table_definition
from scripts.ops.provision_records import provision, table_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        yield boto3.client("dynamodb", region_name="eu-west-1")


def test_creates_once_then_leaves_it_alone(client):
    first = provision(client, "ips-records-prod")
    assert first["created"] is True and first["arn"].endswith(":table/ips-records-prod")
    again = provision(client, "ips-records-prod")
    assert again["created"] is False and again["arn"] == first["arn"]
    described = client.describe_table(TableName="ips-records-prod")["Table"]
    assert {i["IndexName"] for i in described["GlobalSecondaryIndexes"]} == {"by_tenant", "by_status"}
    backups = client.describe_continuous_backups(TableName="ips-records-prod")
    assert backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
        "PointInTimeRecoveryStatus"] == "ENABLED"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_template_policy_and_config_name_the_same_table(stage):
    table = table_for(stage)
    assert table == f"ips-records-{stage}"
    template = json.loads((ROOT / ".chalice" / f"collection-{stage}.json").read_text())
    props = template["Resources"]["RecordsTable"]["Properties"]
    script = table_definition(table)
    assert props["TableName"] == table
    for key in ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "BillingMode"):
        assert props[key] == script[key], key
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    [statement] = [s for s in policy["Statement"] if "dynamodb:PutItem" in s["Action"]
                   and table in json.dumps(s["Resource"])]
    assert all(r.endswith((f"table/{table}", f"table/{table}/index/*")) for r in statement["Resource"])
    # append-only: the function can never delete or scan a trail
    assert not {"dynamodb:DeleteItem", "dynamodb:Scan", "dynamodb:*"} & set(statement["Action"])
