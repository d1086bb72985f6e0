"""Migration history is frozen: each Alembic revision says what it does in its own file.

A revision that imports the application (``api``, ``gate``, ``chain``...) changes when that code
changes, so editing a module would silently rewrite what an old revision creates. The revisions
may import only Alembic, SQLAlchemy and the standard library.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

VERSIONS = Path(__file__).resolve().parents[2] / "api" / "migrations" / "versions"
ALLOWED = {"alembic", "sqlalchemy", "__future__"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import reaches into the app's package
                roots.add("." * node.level + (node.module or ""))
            elif node.module:
                roots.add(node.module.split(".")[0])
    return roots


REVISIONS = sorted(VERSIONS.glob("*.py"))


def test_there_are_revisions() -> None:
    assert len(REVISIONS) >= 10


@pytest.mark.parametrize("path", REVISIONS, ids=lambda p: p.name)
def test_a_revision_imports_nothing_from_the_app(path: Path) -> None:
    foreign = {
        root
        for root in _imported_roots(path)
        if root not in ALLOWED and root not in sys.stdlib_module_names
    }
    assert foreign == set(), f"{path.name} imports {sorted(foreign)}: freeze it in the revision"


def test_the_check_sees_an_app_import(tmp_path: Path) -> None:
    revision = tmp_path / "0099_bad.py"
    revision.write_text("from gate.hub import metadata\nimport api.models\nfrom . import x\n")
    assert _imported_roots(revision) == {"gate", "api", "."}


def test_gate_keys_made_before_gate_names_keep_the_gate_id_they_had(tmp_path: Path) -> None:
    """0014 names every existing gate key's gate as the hub called it (gate-<key id>), so a
    device's check-ins keep their gate across the upgrade; other keys get no gate."""
    from sqlalchemy import create_engine, text

    from api.migrate import upgrade

    engine = create_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    upgrade(engine, "0013_drop_hub_device_keys")
    with engine.begin() as conn:
        for key_id, role in (("aa11", "gate"), ("bb22", "organizer")):
            conn.execute(
                text(
                    "INSERT INTO api_keys (key_id, secret_hash, role, label, created_at) "
                    "VALUES (:k, 'h', :r, '', '2026-12-01 00:00:00')"
                ),
                {"k": key_id, "r": role},
            )
    upgrade(engine)
    with engine.connect() as conn:
        named = dict(conn.execute(text("SELECT key_id, gate_name FROM api_keys")).all())
    assert named == {"aa11": "gate-aa11", "bb22": None}
    engine.dispose()
