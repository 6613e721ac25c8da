"""The core imports only the standard library and itself (architecture.md §4)."""

from __future__ import annotations

import ast
import pathlib
import sys
from collections.abc import Iterator

import stockwatch.core

CORE = pathlib.Path(stockwatch.core.__file__).parent
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imports(path: pathlib.Path) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = "stockwatch.core" if node.level == 1 else "stockwatch"
                base = f"{parent}.{base}" if base else parent
            yield from ((f"{base}.{alias.name}", node.lineno) for alias in node.names)


def allowed(name: str) -> bool:
    return name.split(".")[0] in STDLIB or name.startswith("stockwatch.core")


def test_core_imports_only_stdlib_and_itself() -> None:
    bad = [
        f"{path.name}:{line} imports {name}"
        for path in sorted(CORE.rglob("*.py"))
        for name, line in imports(path)
        if not allowed(name)
    ]
    assert not bad, bad


def test_the_checker_flags_a_forbidden_import(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\nfrom ..adapters import db\nfrom . import model\n")
    found = [name for name, _ in imports(bad) if not allowed(name)]
    assert found == ["numpy", "stockwatch.adapters.db"]
