"""Canned Amazon Rekognition answers and a stubbed client, shared by the
route tests and scripts/bench_handler.py (one copy of each)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.stub import Stubber

from chalicelib.aws import clients as aws
from tests.support.images import b64, image_bytes

DL = image_bytes(400, 300)
SELFIE = image_bytes(300, 400, "PNG")
BODY = json.dumps({"dl": b64(DL), "selfie": b64(SELFIE)})


def compare_params(source: bytes, target: bytes, quality_filter: str = "AUTO") -> dict[str, Any]:
    """The parameters ips sends to CompareFaces for these two images."""
    return {
        "SourceImage": {"Bytes": source},
        "TargetImage": {"Bytes": target},
        "SimilarityThreshold": 0,
        "QualityFilter": quality_filter,
    }


SAME_ORDER = compare_params(DL, SELFIE)
# The probe made after InvalidParameterException: does the document have a face?
DOCUMENT_PROBE = compare_params(DL, DL)


def face(
    left: float = 0.3,
    top: float = 0.2,
    width: float = 0.25,
    height: float = 0.35,
    confidence: float = 99.9,
) -> dict[str, Any]:
    return {
        "BoundingBox": {"Left": left, "Top": top, "Width": width, "Height": height},
        "Confidence": confidence,
    }


def answer(*similarities: float, unmatched: int = 0) -> dict[str, Any]:
    """A CompareFaces answer: one matched selfie face per similarity, plus
    `unmatched` faces under the threshold."""
    return {
        "SourceImageFace": face(0.1, 0.3, 0.2, 0.3, 99.5),
        "FaceMatches": [
            {"Similarity": s, "Face": face(left=0.1 + 0.3 * i)} for i, s in enumerate(similarities)
        ],
        "UnmatchedFaces": [face(left=0.7) for _ in range(unmatched)],
    }


def fake_client(service: str = "rekognition") -> Any:
    """A real botocore client with fake credentials (nothing is sent while a
    Stubber is active on it)."""
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@contextmanager
def stubbed(service: str = "rekognition") -> Iterator[Stubber]:
    """Install a Stubber-backed client as the process's `service` client for
    the block; the previous client comes back however the block ends."""
    client = fake_client(service)
    with aws.override(service, client), Stubber(client) as stubber:
        yield stubber
