"""The README's gas table is generated from the committed figures (issue 9, item 15): it fails
here when README.md, gas-snapshot.json and gas-baseline.json disagree. No chain needed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _gas_table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gas_table", ROOT / "scripts" / "gas_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_gas_table_is_the_snapshot() -> None:
    gas_table = _gas_table()
    readme = (ROOT / "README.md").read_text()
    assert readme == gas_table.expected_readme(), (
        "README.md's gas table differs from gas-snapshot.json / gas-baseline.json: "
        "run .venv/bin/python scripts/gas_table.py"
    )


def test_a_drifted_figure_is_caught() -> None:
    gas_table = _gas_table()
    snapshot, baseline = gas_table.load()
    drifted = dict(snapshot, resale_buy_worst=snapshot["resale_buy_worst"] + 1)
    readme = (ROOT / "README.md").read_text()
    assert gas_table.replace_table(readme, gas_table.render(drifted, baseline)) != readme


def test_every_snapshot_figure_has_a_row() -> None:
    gas_table = _gas_table()
    snapshot, baseline = gas_table.load()
    with pytest.raises(ValueError, match="no README row for new_metric"):
        gas_table.render({**snapshot, "new_metric": 1}, baseline)
    assert set(json.loads((ROOT / "gas-baseline.json").read_text())) >= {
        row[2] for row in gas_table.ROWS if row[2]
    }
