"""The source package's boundary: nothing of Dagster, nothing of the Dagster side."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_PACKAGE = ROOT / "support_assets" / "source"
DAGSTER = ("dagster", "dagster_dlt")


def imports_outside_the_source(path: Path) -> list[str]:
    """The modules `path` imports that plain dlt would not have: Dagster, or our Dagster side."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            root = name.partition(".")[0]
            ours = root == "support_assets" and not (
                name == "support_assets.source" or name.startswith("support_assets.source.")
            )
            if root in DAGSTER or ours:
                found.append(f"{path.relative_to(ROOT)}: {name}")
    return found


def test_the_source_package_imports_neither_dagster_nor_the_dagster_side() -> None:
    modules = sorted(SOURCE_PACKAGE.rglob("*.py"))

    offending = [name for module in modules for name in imports_outside_the_source(module)]

    assert len(modules) > 10
    assert offending == []
