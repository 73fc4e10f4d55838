#!/usr/bin/env python3
"""Create the stage's Rekognition face collections, one per tenant, where
they do not exist yet (idempotent: run it as often as you like, and after
adding a tenant).

    make provision STAGE=prod [TENANTS="acme globex"]
    python -m scripts.ops.provision_collection --stage prod [--tenant acme ...]

A tenant's collection is ``<IPS_COLLECTION_ID>-<tenant id>`` (IPS_COLLECTION_ID
from .chalice/config.json, default ips-<stage>; say ips-prod-acme): the
stage's IAM policy (.chalice/policy-<stage>.json) covers ``collection/ips-prod-*``.
The tenants: ``--tenant`` if given, else the names of the stage's tenant
parameters in SSM (IPS_TENANTS_PARAMETER, chalicelib/tenants/cloud.py; only
names are read, never values), else the one tenant ``default``. Region and credentials are
boto3's usual ones (AWS_DEFAULT_REGION, AWS_PROFILE, ...).

Use this with `chalice deploy`. The merged template of `make package`
(.chalice/collection-<stage>.json) creates the ``default`` tenant's
collection; other tenants' come from this script either way (CloudFormation
cannot adopt a collection this script made, so with `make package` pass
--tenant for the tenants other than ``default``)."""

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


def tenants_from_ssm(ssm: Any, path: str) -> list[str]:
    """The tenant ids under the SSM path: its parameters' last name segments."""
    found: list[str] = []
    kwargs: dict[str, Any] = {"Path": path, "Recursive": False, "WithDecryption": False}
    while True:
        answer = ssm.get_parameters_by_path(**kwargs)
        found += [p["Name"].rsplit("/", 1)[-1] for p in answer.get("Parameters", [])]
        if not answer.get("NextToken"):
            return sorted(found)
        kwargs["NextToken"] = answer["NextToken"]


def stage_tenants(stage: str, given: list[str] | None, ssm: Any = None) -> list[str]:
    if given:
        return sorted(set(given))
    path = stage_environment(stage).get("IPS_TENANTS_PARAMETER")
    if path:
        import boto3

        return tenants_from_ssm(ssm or boto3.client("ssm"), str(path)) or ["default"]
    return ["default"]


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
    parser.add_argument("--tenant", action="append", help="a tenant id (repeat); default: all")
    args = parser.parse_args(argv)
    import boto3

    from chalicelib.enrolment.rekognition import collection_for

    client = boto3.client("rekognition")
    for tenant in stage_tenants(args.stage, args.tenant):
        collection_id = collection_for(collection_id_for(args.stage), tenant)
        result = provision(client, collection_id, args.stage)
        verb = "created" if result["created"] else "already exists"
        print(f"collection {collection_id} {verb}: {result['arn']} "
              f"({result['face_count']} faces, {result['user_count']} users, "
              f"face model {result['face_model_version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
