#!/usr/bin/env python3
"""Create the stage's DynamoDB records table if it does not exist yet
(idempotent: run it as often as you like), with point-in-time recovery on.

    make provision STAGE=prod
    python -m scripts.ops.provision_records --stage prod [--table ips-records-prod]

The table name comes from the stage's IPS_RECORDS_TABLE in
.chalice/config.json (default ips-records-<stage>), the one the stage's IAM
policy is scoped to. With `make package` the merged SAM template
(.chalice/collection-<stage>.json) creates the table instead; use one or
the other for a stage, not both."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from chalicelib.records.dynamodb import table_definition
from scripts.ops.provision_collection import stage_environment


def table_for(stage: str) -> str:
    return str(stage_environment(stage).get("IPS_RECORDS_TABLE") or f"ips-records-{stage}")


def provision(client: Any, table: str) -> dict[str, Any]:
    """Describe the table, creating it first when missing; turn on
    point-in-time recovery. Returns {"created": bool, "arn", "status"}."""
    from botocore.exceptions import ClientError

    created = False
    try:
        client.describe_table(TableName=table)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        try:
            client.create_table(**table_definition(table))
            created = True
        except ClientError as race:  # created meanwhile by another run: fine
            if race.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
    client.get_waiter("table_exists").wait(TableName=table)
    client.update_continuous_backups(
        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    described = client.describe_table(TableName=table)["Table"]
    return {"created": created, "arn": described["TableArn"], "status": described["TableStatus"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="dev or prod (a stage of config.json)")
    parser.add_argument("--table", help="default: the stage's IPS_RECORDS_TABLE")
    args = parser.parse_args(argv)
    import boto3

    table = args.table or table_for(args.stage)
    result = provision(boto3.client("dynamodb"), table)
    verb = "created" if result["created"] else "already exists"
    print(f"records table {table} {verb}: {result['arn']} ({result['status']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
