"""`chalice package` works offline-credentials-wise and ships exactly what
Lambda needs: the app, Pillow built for the Lambda runtime, no offline engine."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_ENGINE_PACKAGES = ("dlib", "_dlib_pybind11", "numpy", "face_recognition_models")


@pytest.fixture(scope="module", params=["dev", "prod"])
def package(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"package-{request.param}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION="us-east-1")
    chalice = Path(sys.executable).with_name("chalice")
    subprocess.run([str(chalice), "package", "--stage", request.param, str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    return request.param, out


def test_zip_holds_runtime_dependencies_only(package):
    _, out = package
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        names = zf.namelist()
        unzipped = sum(info.file_size for info in zf.infolist())
    top = {name.split("/")[0] for name in names}
    assert {"app.py", "chalicelib", "PIL"} <= top
    assert any(n.startswith("PIL/_imaging.cpython-311-x86_64-linux-gnu") for n in names)
    for forbidden in OFFLINE_ENGINE_PACKAGES:
        assert not any(n.split("/")[0].startswith(forbidden) for n in names), forbidden
    assert not any(n.startswith(("tests/", "scripts/", ".venv/")) for n in names)
    assert (out / "deployment.zip").stat().st_size < 50 * 1024 * 1024   # Lambda's zipped limit
    assert unzipped < 250 * 1024 * 1024                                  # and unzipped


def test_template_policy_is_least_privilege_and_key_required(package):
    stage, out = package
    template = json.loads((out / "sam.json").read_text())
    function = template["Resources"]["APIHandler"]["Properties"]
    assert function["Runtime"] == "python3.11"
    assert function["Environment"]["Variables"]["IPS_ENGINE"] == "rekognition"
    assert function["Environment"]["Variables"]["IPS_STAGE"] == stage
    role = template["Resources"]["ApiHandlerRole"]["Properties"]
    actions = sorted(a for policy in role["Policies"]
                     for statement in policy["PolicyDocument"]["Statement"]
                     for a in statement["Action"])
    assert actions == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                       "rekognition:CompareFaces"]
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert paths["/ips"]["post"]["security"] == [{"api_key": []}]
