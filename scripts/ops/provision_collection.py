#!/usr/bin/env python3
"""Create the stage's Rekognition face collection if it does not exist yet
(idempotent: run it as often as you like).

    make provision STAGE=prod
    python -m scripts.ops.provision_collection --stage prod [--collection-id ips-prod]

The collection id comes from the stage's IPS_COLLECTION_ID in
.chalice/config.json (default ips-<stage>), the one the stage's IAM policy
(.chalice/policy-<stage>.json) is scoped to. Region and credentials are
boto3's usual ones (AWS_DEFAULT_REGION, AWS_PROFILE, ...).

Use this with `chalice deploy`. With `make package` (CloudFormation/SAM) the
merged template .chalice/collection-<stage>.json creates the collection
instead; use one or the other for a stage, not both (CloudFormation cannot
adopt a collection this script made)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def stage_environment(stage: str,
                      config_path: Path = ROOT / ".chalice" / "config.json") -> dict[str, Any]:
    """The stage's environment variables as config.json gives them."""
    config = json.loads(config_path.read_text(encoding="utf-8"))
    return {**config.get("environment_variables", {}),
            **config.get("stages", {}).get(stage, {}).get("environment_variables", {})}


def collection_id_for(stage: str, config_path: Path = ROOT / ".chalice" / "config.json") -> str:
    return str(stage_environment(stage, config_path).get("IPS_COLLECTION_ID") or f"ips-{stage}")


def provision(client: Any, collection_id: str, stage: str) -> dict[str, Any]:
    """Describe the collection, creating it first when missing. Returns
    {"created": bool, "arn", "face_count", "face_model_version"}."""
    from botocore.exceptions import ClientError

    created = False
    try:
        described = client.describe_collection(CollectionId=collection_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        try:
            client.create_collection(CollectionId=collection_id,
                                     Tags={"app": "ips", "stage": stage})
            created = True
        except ClientError as race:   # created meanwhile by another run: fine
            if race.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                raise
        described = client.describe_collection(CollectionId=collection_id)
    return {"created": created, "arn": described.get("CollectionARN"),
            "face_count": described.get("FaceCount", 0),
            "user_count": described.get("UserCount", 0),
            "face_model_version": described.get("FaceModelVersion")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, help="dev or prod (a stage of config.json)")
    parser.add_argument("--collection-id", help="default: the stage's IPS_COLLECTION_ID")
    args = parser.parse_args(argv)
    import boto3

    collection_id = args.collection_id or collection_id_for(args.stage)
    result = provision(boto3.client("rekognition"), collection_id, args.stage)
    verb = "created" if result["created"] else "already exists"
    print(f"collection {collection_id} {verb}: {result['arn']} "
          f"({result['face_count']} faces, {result['user_count']} users, "
          f"face model {result['face_model_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
