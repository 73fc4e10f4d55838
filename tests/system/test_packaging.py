"""`make package`'s `chalice package` (run by the Lambda runtime's Python,
3.13, from .venv-lambda) works offline-credentials-wise and ships exactly
what Lambda needs: the app, a current Pillow (>= 12.3) and pillow-heif
built for the python3.13 runtime, cryptography, no offline engine."""
import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OFFLINE_ENGINE_PACKAGES = ("dlib", "_dlib_pybind11", "numpy", "face_recognition_models",
                           "onnxruntime", "rapidocr", "cv2", "opencv")


@pytest.fixture(scope="module", params=["dev", "prod"])
def package(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"package-{request.param}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION="us-east-1")
    # The packaging venv, as `make package` makes it (hash-checked requirements.txt).
    subprocess.run(["make", ".venv-lambda/.installed"], cwd=ROOT, check=True,
                   capture_output=True, timeout=900)
    chalice = ROOT / ".venv-lambda" / "bin" / "chalice"
    # As `make package` does: the stage's face collection merged in.
    subprocess.run([str(chalice), "package", "--stage", request.param, "--merge-template",
                    f".chalice/collection-{request.param}.json", str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    return request.param, out


def test_zip_holds_runtime_dependencies_only(package):
    _, out = package
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        names = zf.namelist()
        unzipped = sum(info.file_size for info in zf.infolist())
    top = {name.split("/")[0] for name in names}
    assert {"app.py", "chalicelib", "PIL"} <= top
    assert any(n.startswith("PIL/_imaging.cpython-313-x86_64-linux-gnu") for n in names)
    # HEIC: pillow-heif's build, its bundled libheif; AVIF and WebP: Pillow's
    # own plugins (chalicelib/image_normalise.py converts them).
    assert "_pillow_heif.cpython-313-x86_64-linux-gnu.so" in names
    assert "pillow_heif/__init__.py" in names
    assert any(n.startswith("pillow_heif.libs/libheif") for n in names)
    assert any(n.startswith("PIL/_avif.cpython-313-x86_64-linux-gnu") for n in names)
    assert any(n.startswith("PIL/_webp.cpython-313-x86_64-linux-gnu") for n in names)
    assert "cryptography/hazmat/bindings/_rust.abi3.so" in names
    for forbidden in OFFLINE_ENGINE_PACKAGES:
        assert not any(n.split("/")[0].startswith(forbidden) for n in names), forbidden
    assert not any(n.startswith(("tests/", "scripts/", ".venv/")) for n in names)
    assert (out / "deployment.zip").stat().st_size < 50 * 1024 * 1024   # Lambda's zipped limit
    assert unzipped < 250 * 1024 * 1024                                  # and unzipped


def test_template_policy_is_least_privilege_and_key_required(package):
    stage, out = package
    template = json.loads((out / "sam.json").read_text())
    function = template["Resources"]["APIHandler"]["Properties"]
    assert function["Runtime"] == "python3.13"
    assert function["Environment"]["Variables"]["IPS_ENGINE"] == "rekognition"
    assert function["Environment"]["Variables"]["IPS_STAGE"] == stage
    role = template["Resources"]["ApiHandlerRole"]["Properties"]
    statements = [statement for policy in role["Policies"]
                  for statement in policy["PolicyDocument"]["Statement"]]
    actions = sorted({a for statement in statements for a in statement["Action"]})
    collection_actions = ["rekognition:AssociateFaces", "rekognition:CreateUser",
                          "rekognition:DeleteFaces", "rekognition:DeleteUser",
                          "rekognition:DisassociateFaces", "rekognition:IndexFaces",
                          "rekognition:ListFaces", "rekognition:SearchFaces",
                          "rekognition:SearchFacesByImage"]
    records_actions = ["dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem",
                       "dynamodb:Query", "dynamodb:UpdateItem"]   # append-only: no Delete, no Scan
    assert actions == sorted(["logs:CreateLogGroup", "logs:CreateLogStream",
                              "logs:PutLogEvents", "rekognition:CompareFaces",
                              "textract:AnalyzeID", "ssm:GetParametersByPath",
                              "dynamodb:DeleteItem", *collection_actions, *records_actions])
    by_sid = {statement.get("Sid"): statement for statement in statements}
    # DeleteItem only on the idempotency table (its keys expire); the records stay append-only.
    assert sorted(by_sid["OwnIdempotencyTable"]["Action"]) == [
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert by_sid["OwnIdempotencyTable"]["Resource"] == (
        f"arn:aws:dynamodb:*:*:table/ips-idempotency-{stage}")
    assert by_sid["OwnTenantMappingReadOnly"]["Action"] == ["ssm:GetParametersByPath"]
    assert by_sid["OwnTenantMappingReadOnly"]["Resource"] == (
        f"arn:aws:ssm:*:*:parameter/ips/{stage}/tenants")
    records = [by_sid["OwnRecordsTableAppendOnly"]]
    assert sorted(records[0]["Action"]) == records_actions
    assert records[0]["Resource"] == [
        f"arn:aws:dynamodb:*:*:table/ips-records-{stage}",
        f"arn:aws:dynamodb:*:*:table/ips-records-{stage}/index/*"]
    table = template["Resources"]["RecordsTable"]
    assert table["Properties"]["TableName"] == f"ips-records-{stage}"
    assert table["DeletionPolicy"] == "Retain"
    assert function["Environment"]["Variables"]["IPS_RECORDS_TABLE"] == f"ips-records-{stage}"
    # The collection actions are scoped to the stage's own tenants' collections only.
    scoped = [statement for policy in role["Policies"]
              for statement in policy["PolicyDocument"]["Statement"]
              if set(statement["Action"]) & set(collection_actions)]
    assert len(scoped) == 1 and sorted(scoped[0]["Action"]) == collection_actions
    assert scoped[0]["Resource"] == f"arn:aws:rekognition:*:*:collection/ips-{stage}-*"
    assert function["Environment"]["Variables"]["IPS_COLLECTION_ID"] == f"ips-{stage}"
    collection = template["Resources"]["FaceCollection"]
    assert collection["Type"] == "AWS::Rekognition::Collection"
    assert collection["Properties"]["CollectionId"] == f"ips-{stage}-default"
    assert collection["DeletionPolicy"] == "Retain"
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert paths["/ips"]["post"]["security"] == [{"api_key": []}]
    for path, method in [("/enrolments", "post"), ("/search", "post"),
                         ("/enrolments/{subject_id}", "get"),
                         ("/enrolments/{subject_id}", "delete")]:
        assert paths[path][method]["security"] == [{"api_key": []}], (path, method)


def test_sam_template_passes_cfn_lint(package):
    _, out = package
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), "--regions", "us-east-1", "--", str(out / "sam.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _local_engine_imports():
    """Top-level packages the offline face engine (chalicelib/faces/local/)
    imports, beyond the standard library, Pillow and our own code: its heavy
    dependencies."""
    names = set()
    files = sorted((ROOT / "chalicelib" / "faces" / "local").glob("*.py"))
    nodes = [node for path in files for node in ast.walk(ast.parse(path.read_text("utf-8")))]
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names} - {"PIL", "chalicelib"}


def test_zip_holds_no_offline_engine_dependency_or_model(package):
    _, out = package
    heavy = _local_engine_imports() | set(OFFLINE_ENGINE_PACKAGES)
    assert {"dlib", "numpy"} <= heavy
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        names = zf.namelist()
    for package_name in heavy:
        assert not any(n.split("/")[0] == package_name
                       or n.split("/")[0].startswith((package_name + "-", package_name + "."))
                       for n in names), package_name
    assert not any(n.endswith((".dat", ".dat.bz2")) for n in names)     # dlib models


def test_contract_ships_and_preflight_needs_no_key(package):
    _stage, out = package
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        served = json.loads(zf.read("chalicelib/openapi.json"))
    assert served["paths"]["/ips"]["post"]["security"] == [{"api_key": []}]
    template = json.loads((out / "sam.json").read_text())
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert "security" not in paths["/ips"]["options"]     # browsers send no key on a preflight
    assert "security" not in paths["/openapi.json"]["get"]


def _version(zf: zipfile.ZipFile, project: str) -> tuple[int, ...]:
    """The Version: line of the project's METADATA inside the zip."""
    (metadata,) = [n for n in zf.namelist()
                   if n.lower().startswith(f"{project}-") and n.endswith(".dist-info/METADATA")]
    line = next(x for x in zf.read(metadata).decode().splitlines() if x.startswith("Version:"))
    return tuple(int(part) for part in line.split(":", 1)[1].strip().split(".")[:3])


def test_the_package_carries_a_current_pillow_and_pillow_heif(package):
    """Pillow releases before 12.3 have published advisories (issue 17)."""
    _, out = package
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        assert _version(zf, "pillow") >= (12, 3)
        assert _version(zf, "pillow_heif") >= (1, 9)
