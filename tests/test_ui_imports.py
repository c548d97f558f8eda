"""ui/ presents; it is no composition root (issue 14). No screen module opens the database, calls
the network or parses a command line when imported: the store, the sync client and the CLI are
the terminal's (terminal/installer composes the wizard's services, `gatepay` is the command)."""
from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "ui"
FORBIDDEN = ("sqlite3", "httpx", "terminal.store", "argparse")


def module_level_imports(source: str) -> set[str]:
    """The modules a source imports when it is loaded (not those imported inside a function)."""
    names: set[str] = set()
    pending = list(ast.parse(source).body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))
    return names


def forbidden(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN))


def test_the_check_sees_module_level_imports_only() -> None:
    source = ("import httpx\nfrom terminal import store\nif True:\n    import argparse\n"
              "class A:\n    import sqlite3\n"
              "def later():\n    import sqlite3\n    from terminal.store import Store\n")
    assert forbidden(module_level_imports(source)) == ["argparse", "httpx", "sqlite3", "terminal.store"]


def test_no_ui_module_imports_the_store_the_network_or_a_command_line() -> None:
    modules = sorted(UI.glob("*.py"))
    assert len(modules) > 10
    found = {p.name: forbidden(module_level_imports(p.read_text(encoding="utf-8"))) for p in modules}
    assert {name: names for name, names in found.items() if names} == {}


def test_the_installer_services_run_without_a_screen() -> None:
    """terminal/installer is what the wizard is given; it imports neither Qt nor ui/, not even late."""
    installer = UI.parent / "terminal" / "installer"
    found = {}
    for path in sorted(installer.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        found[path.name] = sorted(n for n in names if n.split(".")[0] in ("ui", "PySide6"))
    assert len(found) >= 8
    assert {name: names for name, names in found.items() if names} == {}
