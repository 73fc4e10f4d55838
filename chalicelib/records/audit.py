"""Checking the audit trail (`make verify-audit`, docs/records.md).

For every record of a store file: its events' hash chain holds
(chalicelib.records.chain), and the record row is exactly the fold of its
events (an edited status or decision in the row is found too). Events
without a record are reported. Against an anchor (an earlier export of
every chain's head, kept elsewhere), every exported record must still be
there with that event at that position: this finds whole records removed
and trails cut short, which a chain alone cannot show.

Read-only: the file is opened with SQLite's ``mode=ro``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from chalicelib.records.chain import first_break
from chalicelib.records.model import Event, fold
from chalicelib.records.sqlite import EVENT_COLUMNS, event_from_row


@dataclass(frozen=True)
class Finding:
    file: str
    record_id: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"record {self.record_id}"
        if self.seq is not None:
            where += f", event seq {self.seq}"
        return f"{self.file}: {where}: {self.problem}"


@dataclass(frozen=True)
class Head:
    """One chain's head, as exported for anchoring."""

    file: str
    record_id: str
    tenant_id: str
    events: int
    head_hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "record_id": self.record_id,
            "tenant_id": self.tenant_id,
            "events": self.events,
            "head_hash": self.head_hash,
        }


def is_record_store(path: Path) -> bool:
    try:
        with _read_only(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.Error:
        return False
    return {"records", "events"} <= tables


def record_files(data_dir: Path) -> list[Path]:
    """Every SQLite record store under the data directory."""
    return sorted(p for p in data_dir.rglob("*.sqlite3") if is_record_store(p))


class _read_only:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *_: object) -> None:
        self.conn.close()


def check_file(path: Path, heads: list[Head] | None = None) -> tuple[int, int, list[Finding]]:
    """(records, events, findings) of one store file; appends each chain's
    head to `heads` when given."""
    name = str(path)
    findings: list[Finding] = []
    with _read_only(path) as conn:
        columns = "id, tenant_id, status, events, head_hash, body"
        rows = {r[0]: r[1:] for r in conn.execute(f"SELECT {columns} FROM records")}
        counted = 0
        seen: set[str] = set()
        cursor = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events ORDER BY record_id, seq")
        for record_id, group in groupby(cursor, key=lambda r: r[0]):
            raw = list(group)
            counted += len(raw)
            seen.add(record_id)
            finding = _check_record(name, record_id, raw, rows.get(record_id))
            if finding is not None:
                findings.append(finding)
            elif heads is not None:
                tenant_id, _, events, head_hash, _ = rows[record_id]
                heads.append(Head(name, record_id, tenant_id, events, head_hash))
        findings += [
            Finding(name, record_id, None, "a record without any event (its trail was removed)")
            for record_id in sorted(set(rows) - seen)
        ]
    return len(rows), counted, findings


def _check_record(
    file: str, record_id: str, raw: list[tuple[Any, ...]], row: tuple[Any, ...] | None
) -> Finding | None:
    events: list[Event] = []
    for r in raw:
        try:
            events.append(event_from_row(r))
        except (ValueError, TypeError):
            return Finding(file, record_id, r[1], "the event row cannot be read (edited)")
    broken = first_break(events)
    if broken is not None:
        return Finding(file, record_id, broken.seq, broken.problem)
    if row is None:
        return Finding(file, record_id, None, "events without a record row (record removed)")
    tenant_id, status, count, head_hash, body = row
    try:
        expected = fold(events).dump()
        stored = json.loads(body)
    except (ValueError, KeyError, TypeError) as exc:
        return Finding(file, record_id, None, f"the trail does not fold into a record ({exc})")
    if stored != expected or (tenant_id, status, count, head_hash) != (
        expected["tenant_id"],
        expected["status"],
        expected["events"],
        expected["head_hash"],
    ):
        changed = sorted(k for k in expected if stored.get(k) != expected[k]) or ["columns"]
        return Finding(
            file,
            record_id,
            None,
            f"the record row differs from its trail ({', '.join(changed)}): edited",
        )
    return None


def check_anchor(anchor: Iterator[Mapping[str, Any]]) -> list[Finding]:
    """Each anchored head must still be in its file, at its position."""
    findings: list[Finding] = []
    for head in anchor:
        file, record_id = str(head["file"]), str(head["record_id"])
        seq = int(head["events"]) - 1
        try:
            with _read_only(Path(file)) as conn:
                row = conn.execute(
                    "SELECT hash FROM events WHERE record_id = ? AND seq = ?", (record_id, seq)
                ).fetchone()
        except sqlite3.Error:
            row = None
        if row is None:
            findings.append(Finding(file, record_id, seq, "an anchored event is missing (removed)"))
        elif row[0] != head["head_hash"]:
            findings.append(
                Finding(file, record_id, seq, "the anchored event's hash changed (rewritten)")
            )
    return findings
