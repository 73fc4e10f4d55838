"""Idempotency keys of the cloud stages: one DynamoDB table (partition key
``key_hash``), items expired by DynamoDB's TTL on ``expires_at`` (epoch
seconds; TTL deletes lazily, so reads also treat an expired item as absent).
A claim is one conditional PutItem: two Lambda invocations racing on one key
cannot both win. Created by `make provision` (scripts/ops)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.idempotency.base import (
    LEASE_S,
    TTL_S,
    Claim,
    Outcome,
    Sealer,
    key_hash,
    open_answer,
)

TTL_ATTRIBUTE = "expires_at"


class DynamoIdempotencyStore:
    def __init__(
        self, client: Any, table: str, sealer: Sealer, clock: Callable[[], float] = time.time
    ) -> None:
        self._client = client
        self._table = table
        self._sealer = sealer
        self._clock = clock

    def claim(self, tenant_id: str, key: str, fingerprint: str) -> Claim:
        hashed, now = key_hash(tenant_id, key), int(self._clock())
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "key_hash": {"S": hashed},
                    "fingerprint": {"S": fingerprint},
                    "locked_until": {"N": str(now + LEASE_S)},
                    TTL_ATTRIBUTE: {"N": str(now + TTL_S)},
                },
                # new, expired (TTL not run yet), or a claim whose holder died
                ConditionExpression="attribute_not_exists(key_hash) OR expires_at <= :now "
                "OR (attribute_not_exists(#status) AND locked_until <= :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
            return Claim(Outcome.STARTED)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        item = self._client.get_item(
            TableName=self._table, Key={"key_hash": {"S": hashed}}, ConsistentRead=True
        ).get("Item")
        if item is None:  # it expired between the two calls: the caller may retry
            return Claim(Outcome.IN_PROGRESS)
        if item["fingerprint"]["S"] != fingerprint:
            return Claim(Outcome.MISMATCH)
        if "status" not in item:
            return Claim(Outcome.IN_PROGRESS)
        return open_answer(
            self._sealer, int(item["status"]["N"]), bytes(item["body"]["B"]), hashed.encode()
        )

    def complete(self, tenant_id: str, key: str, status: int, body: bytes) -> None:
        hashed = key_hash(tenant_id, key)
        self._client.update_item(
            TableName=self._table,
            Key={"key_hash": {"S": hashed}},
            UpdateExpression="SET #status = :status, body = :body",
            ConditionExpression="attribute_exists(key_hash) AND attribute_not_exists(#status)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":status": {"N": str(status)},
                ":body": {"B": self._sealer.seal(body, hashed.encode())},
            },
        )

    def release(self, tenant_id: str, key: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"key_hash": {"S": key_hash(tenant_id, key)}},
                ConditionExpression="attribute_not_exists(#status)",
                ExpressionAttributeNames={"#status": "status"},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def table_definition(table: str) -> dict[str, Any]:
    """CreateTable's arguments (make provision; the SAM template has the same)."""
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "key_hash", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "key_hash", "KeyType": "HASH"}],
        "SSESpecification": {"Enabled": True},
        "Tags": [{"Key": "app", "Value": "ips"}],
    }
