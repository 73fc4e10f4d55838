"""Verification records, hosted sessions and their audit trail (issue 18,
docs/records.md): `model` (Record, Event, the fold), `chain` (the hash
chain), `base` (SEAM: RecordStore), `sqlite` and `dynamodb` (the stores),
`service` (state changes and the session state machine), `audit` (what
`make verify-audit` runs)."""
