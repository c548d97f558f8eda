"""The shared core (core/) is the bottom layer: both the terminal and the backend build on it, so it
may import nothing of theirs. A change to terminal/ or backend/ must never reach into core/."""
from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core"
UPPER_LAYERS = {"terminal", "hardware", "sync", "ui", "backend"}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_imports_nothing_from_the_layers_above_it():
    modules = sorted(CORE.rglob("*.py"))
    assert modules, "core/ has no modules"
    offenders = {str(p.relative_to(CORE)): sorted(_imported_packages(p) & UPPER_LAYERS) for p in modules}
    assert {name: found for name, found in offenders.items() if found} == {}
