"""Data flows one way: cli/api/gate/scripts -> chain/zk/metadata (-> fairgate), never back.

Read from the sources (no import runs), so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOWER = ("chain", "zk", "metadata", "fairgate")
UPPER = ("api", "cli", "gate", "scripts", "tests")


def imports_of(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("package", LOWER)
def test_the_lower_layers_import_nothing_above_them(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imports_of(path)
        if _top(name) in UPPER
    }
    assert wrong == set()


def test_the_bridge_imports_neither_the_cli_nor_the_scripts() -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "api").rglob("*.py"))
        for name in imports_of(path)
        if _top(name) in ("cli", "scripts")
    }
    assert wrong == set()


def test_the_gate_device_and_the_bridge_do_not_import_each_other() -> None:
    """The hub is the bridge's (api.gate_hub); the gate package is the device, talking to the
    bridge over HTTP only."""
    for package, other in (("gate", "api"), ("api", "gate")):
        wrong = {
            f"{path.relative_to(ROOT)}: {name}"
            for path in sorted((ROOT / package).rglob("*.py"))
            for name in imports_of(path)
            if _top(name) == other
        }
        assert wrong == set()


def test_the_bridge_client_and_the_card_commands_do_not_import_each_other() -> None:
    """cli.fan_card (commands) uses cli.bridge_client (HTTP); never the other way round."""
    client = imports_of(ROOT / "cli" / "bridge_client.py")
    assert not {name for name in client if _top(name) == "cli"}
    assert "cli.fan" not in imports_of(ROOT / "cli" / "fan_card.py")


def test_the_check_reads_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from api.models import Event\n    import cli.fan\n")
    assert {"api.models", "api.models.Event", "cli.fan"} <= imports_of(module)


def test_the_command_line_reaches_the_bridge_through_its_client_methods() -> None:
    """cli.bridge_client.BridgeClient names each bridge call it makes (fan and organizer); no
    other module builds requests through its private ``_request``."""
    wrong = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "cli").rglob("*.py"))
        if path.name != "bridge_client.py" and "._request(" in path.read_text(encoding="utf-8")
    ]
    assert wrong == []
