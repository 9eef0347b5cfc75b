"""The package's layers, and the one direction imports go between them.

    definitions, status          the entry points
    defs/, settings, dagster_private, run_launcher   Dagster wiring and instance plumbing
    sources/   warehouse/        the outside world: akshare and the demo; the SQL tables and export
    market/                      pure market logic: series, calendar, build, cost, quality, catch-up plan
    errors, clock                shared by all

A module may import its own layer and the ones below, never one above; `market/` imports neither
Dagster nor SQLAlchemy, and `sources/` and `warehouse/` do not import each other.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sugars_dagster"

LAYERS: list[tuple[str, list[str]]] = [
    ("shared", ["errors", "clock"]),
    ("market", ["market"]),
    ("sources", ["sources"]),
    ("warehouse", ["warehouse"]),
    ("wiring", ["defs", "settings", "dagster_private", "run_launcher"]),
    ("entry", ["definitions", "status"]),
]
RANK = {"shared": 0, "market": 1, "sources": 2, "warehouse": 2, "wiring": 3, "entry": 4}
# Outside packages a layer must not import.
FORBIDDEN = {"market": {"dagster", "sqlalchemy", "akshare", "dagster_shared"}}


def layer_of(module: str) -> str:
    top = module.split(".")[1] if module.count(".") else ""
    for layer, tops in LAYERS:
        if top in tops:
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name != "sugars_dagster":
            found[name] = path
    return found


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sugars_dagster":
                names |= {f"sugars_dagster.{alias.name}" for alias in node.names}
            else:
                names.add(node.module)
    return names


MODULES = modules()


@pytest.mark.parametrize("module", list(MODULES))
def test_imports_go_one_way(module: str) -> None:
    layer = layer_of(module)
    wrong = []
    for imported in sorted(imports(MODULES[module])):
        if imported.startswith("sugars_dagster."):
            target = layer_of(imported)
            if RANK[target] > RANK[layer] or (RANK[target] == RANK[layer] and target != layer):
                wrong.append(f"{imported} ({target})")
        elif imported.split(".")[0] in FORBIDDEN.get(layer, set()):
            wrong.append(imported)
    assert wrong == [], f"{module} ({layer}) imports {wrong}"


def test_every_module_has_a_layer() -> None:
    assert {layer_of(module) for module in MODULES} == set(RANK)


def test_dagster_private_api_is_used_in_one_place() -> None:
    users = sorted(
        module for module, path in MODULES.items() if any(name.startswith("dagster._") for name in imports(path))
    )
    assert users == ["sugars_dagster.dagster_private"]


def _reads_environment(node: ast.AST) -> bool:
    """os.getenv(...), os.environ.get(...), os.environ[...], `... in os.environ`, or the same on a
    mapping named `environ` (the settings functions' parameter)."""

    def is_os_environ(expr: ast.AST) -> bool:
        if isinstance(expr, ast.Name):
            return expr.id == "environ"
        return (
            isinstance(expr, ast.Attribute)
            and expr.attr == "environ"
            and isinstance(expr.value, ast.Name)
            and expr.value.id == "os"
        )

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "getenv" and isinstance(node.func.value, ast.Name) and node.func.value.id == "os":
            return True
        if node.func.attr == "get" and is_os_environ(node.func.value):
            return True
    if isinstance(node, ast.Subscript) and is_os_environ(node.value):
        return True
    return isinstance(node, ast.Compare) and any(is_os_environ(side) for side in node.comparators)


def test_settings_are_read_in_one_module() -> None:
    readers = sorted(
        module
        for module, path in MODULES.items()
        if any(_reads_environment(node) for node in ast.walk(ast.parse(path.read_text())))
    )
    assert readers == ["sugars_dagster.settings"]


MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_60_lines() -> None:
    long = [
        f"{module}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []
