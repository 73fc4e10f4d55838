"""The product's import graph: every import points down the layers (lazy
imports inside functions included), and no two modules import each other,
directly or round a cycle. A new package joins LAYERS where it belongs."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lowest first. A module may import its own layer's and lower layers' modules.
LAYERS = [
    {"core"},
    # tenants needs only core (its SSM client is injected): config parses its file
    {"config", "aws", "tenants"},
    {"imaging"},
    {"faces", "documents", "enrolment", "liveness", "records", "idempotency"},
    {"decision"},
    {"backends"},
    {"flows"},
    {"http"},
    {"serve"},
    {"app"},
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    files = [*sorted((ROOT / "chalicelib").rglob("*.py")), ROOT / "app.py"]
    return {_module(path): path for path in files}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The ips modules `path` imports (`from a import b` counts a.b when
    that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[0] if parts[0] == "app" else (parts[1] if len(parts) > 1 else "chalicelib")


GRAPH = {name: _imports(path, _modules()) for name, path in _modules().items()}


def test_every_package_has_a_layer():
    unknown = {_layer(m) for m in GRAPH} - set(RANK) - {"chalicelib"}
    assert not unknown, f"add {unknown} to LAYERS in {__file__}"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_down(module):
    upward = [
        target
        for target in GRAPH[module]
        if _layer(target) != "chalicelib"
        and RANK.get(_layer(target), 0) > RANK.get(_layer(module), 0)
    ]
    assert not upward, f"{module} imports {upward} from a layer above its own"


def test_no_import_cycles():
    # A depth-first search that reports the first back edge it meets.
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(GRAPH[node]):
            if target == node or target == node.rsplit(".", 1)[0]:
                continue  # a package's own __init__ or itself
            if state.get(target) == 1:
                cycle = [*path[path.index(target):], target] if target in path else [node, target]
                pytest.fail(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])


def test_image_is_defined_once_outside_the_face_engines():
    defined = [name for name, path in _modules().items()
               if re.search(r"^class Image\b", path.read_text(encoding="utf-8"), re.M)]
    assert defined == ["chalicelib.imaging.image"]


def test_only_the_composition_root_branches_on_the_backend():
    branching = [name for name, path in _modules().items()
                 if re.search(r"\b(engine|backend)\s*[!=]=\s*\"(local|rekognition)\"",
                              path.read_text(encoding="utf-8"))]
    # config only names the stage for the logs ("local" when offline); it
    # never picks an adapter.
    assert branching == ["chalicelib.backends", "chalicelib.config.settings"]
