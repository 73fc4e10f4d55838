"""The cloud stages' record store: one DynamoDB table (``IPS_RECORDS_TABLE``,
default ``ips-records-<stage>``), created by `make provision` or the SAM
template (.chalice/records-table.json). The low-level client is injected.

Items (partition key ``pk``, sort key ``sk``; the tenant is in every
partition key, so no query can cross tenants):

=========================  ==============  ======================================
pk                         sk              what
=========================  ==============  ======================================
``<tenant>#<record id>``   ``record``      the record: ``body`` (JSON), ``status``,
                                           ``events``, ``head_hash``; index keys
``<tenant>#<record id>``   ``event#<seq>`` one event: ``data`` (JSON), ``type``,
                                           ``at``, ``prev_hash``, ``hash``
``session#<record id>``    ``session``     a session's ``tenant_id``,
                                           ``token_sha256``, ``sealed_expected``
=========================  ==============  ======================================

The last lets the capture route, which knows only the id and a token,
find the session with a strongly consistent read. Two sparse global
indexes list a tenant's records newest first: ``by_tenant`` (``t_pk`` =
tenant, ``t_sk`` = created_at#id) and ``by_status`` (``s_pk`` =
tenant#status, same sort key). Index reads are eventually consistent: a
record answered a moment ago may take a moment to be listed (GET by id is
consistent).

A `Change` is one TransactWriteItems: the record written on the condition
that it still has the events the change was computed from (or does not
exist yet), each event put on the condition that its seq is new. Two
captures of a session cannot both win; the loser's transaction is
cancelled (`Conflict`). Issue 19 adds outbox items (``outbox#<event id>``)
to the same transaction. The application's role has no DeleteItem and no
Scan (.chalice/policy-<stage>.json): it can append, never erase a trail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.records.base import Change, Conflict, Page, Position, SessionKeys, StoreFailure
from chalicelib.records.model import Event, EventType, Kind, Record, Status

RECORD_SK = "record"
SESSION_SK = "session"
BY_TENANT = "by_tenant"
BY_STATUS = "by_status"
_BUSY = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
}


def _pk(tenant_id: str, record_id: str) -> str:
    return f"{tenant_id}#{record_id}"


def _event_sk(seq: int) -> str:
    return f"event#{seq:010d}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _order_key(record: Record) -> str:
    return f"{record.created_at}#{record.id}"


class DynamoRecordStore:
    name = "dynamodb"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self.table = table

    @contextmanager
    def _guard(self, operation: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "TransactionCanceledException":
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    raise Conflict(operation) from None
                raise StoreFailure(operation, busy=True) from exc
            if code == "TransactionConflictException":
                raise Conflict(operation) from None
            raise StoreFailure(operation, busy=code in _BUSY) from exc
        except BotoCoreError as exc:  # endpoint unreachable, read timeout
            raise StoreFailure(operation, busy=True) from exc

    # --- writing ----------------------------------------------------------------------

    def _record_item(self, record: Record) -> dict[str, Any]:
        return {
            "pk": {"S": _pk(record.tenant_id, record.id)},
            "sk": {"S": RECORD_SK},
            "tenant_id": {"S": record.tenant_id},
            "status": {"S": str(record.status)},
            "events": {"N": str(record.events)},
            "head_hash": {"S": record.head_hash},
            "body": {"S": _json(record.dump())},
            "t_pk": {"S": record.tenant_id},
            "t_sk": {"S": _order_key(record)},
            "s_pk": {"S": f"{record.tenant_id}#{record.status}"},
            "s_sk": {"S": _order_key(record)},
        }

    def _event_put(self, event: Event) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": {
                    "pk": {"S": _pk(event.tenant_id, event.record_id)},
                    "sk": {"S": _event_sk(event.seq)},
                    "tenant_id": {"S": event.tenant_id},
                    "seq": {"N": str(event.seq)},
                    "type": {"S": str(event.type)},
                    "at": {"S": event.at},
                    "data": {"S": _json(dict(event.data))},
                    "prev_hash": {"S": event.prev_hash},
                    "hash": {"S": event.hash},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def commit(self, change: Change) -> None:
        record = change.record
        items: list[dict[str, Any]] = []
        if change.expected_events == 0:
            items.append(
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": self._record_item(record),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            if change.session is not None:
                session: dict[str, Any] = {
                    "pk": {"S": f"session#{record.id}"},
                    "sk": {"S": SESSION_SK},
                    "tenant_id": {"S": record.tenant_id},
                    "token_sha256": {"S": change.session.token_sha256},
                }
                if change.session.sealed_expected is not None:
                    session["sealed_expected"] = {"B": change.session.sealed_expected}
                items.append(
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": session,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                )
        else:
            item = self._record_item(record)
            names = {f"#{k}": k for k in item if k not in ("pk", "sk")}
            values = {f":{k}": v for k, v in item.items() if k not in ("pk", "sk")}
            values[":expected"] = {"N": str(change.expected_events)}
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": {"pk": item["pk"], "sk": item["sk"]},
                        "UpdateExpression": "SET " + ", ".join(f"{n} = :{n[1:]}" for n in names),
                        "ConditionExpression": "#events = :expected",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
            )
            if change.forget_expected and record.kind is Kind.SESSION:
                items.append(
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": {"S": f"session#{record.id}"}, "sk": {"S": SESSION_SK}},
                            "UpdateExpression": "REMOVE sealed_expected",
                        }
                    }
                )
        items += [self._event_put(e) for e in change.events]
        with self._guard("commit"):
            self._client.transact_write_items(TransactItems=items)

    # --- reading ------------------------------------------------------------------------

    def _record(self, tenant_id: str, record_id: str) -> Record | None:
        with self._guard("read"):
            item = self._client.get_item(
                TableName=self.table,
                Key={"pk": {"S": _pk(tenant_id, record_id)}, "sk": {"S": RECORD_SK}},
                ConsistentRead=True,
                ProjectionExpression="#b",
                ExpressionAttributeNames={"#b": "body"},
            ).get("Item")
        return None if item is None else Record.load(json.loads(item["body"]["S"]))

    def get(self, tenant_id: str, record_id: str) -> Record | None:
        return self._record(tenant_id, record_id)

    def session(self, record_id: str) -> tuple[Record, SessionKeys] | None:
        with self._guard("read"):
            item = self._client.get_item(
                TableName=self.table,
                Key={"pk": {"S": f"session#{record_id}"}, "sk": {"S": SESSION_SK}},
                ConsistentRead=True,
            ).get("Item")
        if item is None:
            return None
        record = self._record(item["tenant_id"]["S"], record_id)
        if record is None:
            return None
        sealed = item.get("sealed_expected", {}).get("B")
        return record, SessionKeys(item["token_sha256"]["S"], bytes(sealed) if sealed else None)

    def page(
        self, tenant_id: str, status: Status | None, limit: int, after: Position | None
    ) -> Page:
        if status is None:
            index, key, value = BY_TENANT, "t", tenant_id
        else:
            index, key, value = BY_STATUS, "s", f"{tenant_id}#{status}"
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": f"{key}_pk = :v",
            "ExpressionAttributeValues": {":v": {"S": value}},
            "ScanIndexForward": False,
            "Limit": limit + 1,
            "ProjectionExpression": "#b",
            "ExpressionAttributeNames": {"#b": "body"},
        }
        if after is not None:
            # Built from the caller's own tenant, never taken from the cursor.
            query["ExclusiveStartKey"] = {
                "pk": {"S": _pk(tenant_id, after.record_id)},
                "sk": {"S": RECORD_SK},
                f"{key}_pk": {"S": value},
                f"{key}_sk": {"S": f"{after.created_at}#{after.record_id}"},
            }
        with self._guard("list"):
            found = self._client.query(**query).get("Items", [])
        items = [Record.load(json.loads(i["body"]["S"])) for i in found[:limit]]
        more = len(found) > limit
        return Page(items, Position(items[-1].created_at, items[-1].id).encode() if more else None)

    def events(self, tenant_id: str, record_id: str) -> list[Event]:
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :events)",
            "ExpressionAttributeValues": {
                ":pk": {"S": _pk(tenant_id, record_id)},
                ":events": {"S": "event#"},
            },
            "ConsistentRead": True,
        }
        events: list[Event] = []
        with self._guard("read"):
            while True:
                answer = self._client.query(**query)
                events += [_event(item) for item in answer.get("Items", [])]
                if "LastEvaluatedKey" not in answer:
                    return events
                query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _event(item: dict[str, Any]) -> Event:
    return Event(
        record_id=item["pk"]["S"].split("#", 1)[1],
        tenant_id=item["tenant_id"]["S"],
        seq=int(item["seq"]["N"]),
        type=EventType(item["type"]["S"]),
        at=item["at"]["S"],
        data=json.loads(item["data"]["S"]),
        prev_hash=item["prev_hash"]["S"],
        hash=item["hash"]["S"],
    )


def table_definition(table: str) -> dict[str, Any]:
    """CreateTable's arguments (scripts/provision_records.py; the SAM
    template .chalice/records-table.json says the same)."""
    projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["body"]}
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "sk", "t_pk", "t_sk", "s_pk", "s_sk")
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{key}_pk", "KeyType": "HASH"},
                    {"AttributeName": f"{key}_sk", "KeyType": "RANGE"},
                ],
                "Projection": projection,
            }
            for index, key in ((BY_TENANT, "t"), (BY_STATUS, "s"))
        ],
        "SSESpecification": {"Enabled": True},
        "DeletionProtectionEnabled": True,
        "Tags": [{"Key": "app", "Value": "ips"}],
    }
