#!/usr/bin/env python3
"""Remove what an interrupted enrolment can leave in a tenant's Rekognition
collection (chalicelib/enrolment/rekognition.py): faces indexed but never
associated with a user, older than a grace period (an enrolment may be in
flight), and users left with no face. Search never returns such faces and
erasure finds them anyway; this keeps the collections clean. Run it daily.

    make reconcile STAGE=prod [TENANTS="acme"]
    python -m scripts.ops.reconcile_collections --stage prod [--tenant acme ...] [--grace-s 900]

Prints one line per tenant with the counts removed."""

from __future__ import annotations

import argparse
import sys

from scripts.ops.provision_collection import collection_id_for, stage_tenants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="dev or prod (a stage of config.json)")
    parser.add_argument("--tenant", action="append", help="a tenant id (repeat); default: all")
    parser.add_argument("--grace-s", type=float, default=None,
                        help="leave unassociated faces younger than this (default 900)")
    args = parser.parse_args(argv)
    import boto3

    from chalicelib.config.settings import StoreOptions
    from chalicelib.enrolment.rekognition import ORPHAN_GRACE_S, RekognitionStore

    store = RekognitionStore(StoreOptions(collection_id=collection_id_for(args.stage)),
                             client=boto3.client("rekognition"))
    grace = ORPHAN_GRACE_S if args.grace_s is None else args.grace_s
    for tenant in stage_tenants(args.stage, args.tenant):
        counts = store.reconcile(tenant, grace)
        print(f"{store.collection(tenant)}: {counts['orphan_faces']} unassociated faces and "
              f"{counts['empty_users']} empty users removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
