"""The layers import downwards only. core/ is the shared bottom (money, plates, crypto, the wire
models, the clock, the reason catalogue); hardware/ (device drivers) and sync/ (the terminal's link
to the backend) build on it; terminal/ composes them; ui/ presents the terminal; backend/ serves
both sides and shares only core/ with the terminal (plus the face engine, for the signing desk).
The terminal's entry points (its CLI, the kiosk runner and the demo) sit on top and may start the
ui and the backend. A change below never has to know what sits above it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "hardware", "sync", "terminal", "ui", "backend")
MAY_IMPORT = {
    "core": set(),
    "hardware": {"core"},
    "sync": {"core"},
    "terminal": {"core", "hardware", "sync"},
    "ui": {"core", "hardware", "sync", "terminal"},
    "backend": {"core", "hardware.face"},
}
# Entry points: they assemble a whole process, so they may reach every layer.
ENTRY_POINTS = ("terminal/cli.py", "terminal/commands.py", "terminal/runner.py", "terminal/demo/")
ENTRY_MAY_ALSO = {"ui", "backend"}


def _imports(path: Path) -> set[str]:
    """Every project module this file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def _allowed(package: str, relative: str, module: str) -> bool:
    target = module.split(".")[0]
    if target == package:
        return True
    allowed = MAY_IMPORT[package] | (ENTRY_MAY_ALSO if relative.startswith(ENTRY_POINTS) else set())
    return any(module == rule or module.startswith(rule + ".") for rule in allowed)


def _violations(package: str) -> dict[str, list[str]]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" in relative:
            continue
        wrong = sorted(m for m in _imports(path) if not _allowed(package, relative, m))
        if wrong:
            out[relative] = wrong
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_each_layer_imports_only_the_layers_below_it(package: str):
    assert _violations(package) == {}


def test_a_wrong_import_is_caught(tmp_path: Path):
    """The rule itself: a driver reaching up into the terminal is refused; core reaching anywhere is."""
    assert not _allowed("hardware", "hardware/gate.py", "terminal.config")
    assert not _allowed("core", "core/money.py", "sync.client")
    assert not _allowed("backend", "backend/api/parking.py", "terminal.plates")
    assert _allowed("backend", "backend/services/face_desk.py", "hardware.face.engine")
    assert not _allowed("backend", "backend/services/payments.py", "hardware.scanner")
    assert _allowed("terminal", "terminal/demo/run.py", "backend.seed")
    assert not _allowed("terminal", "terminal/canteen.py", "ui.kiosk")
