"""The README's "Using it" block, run verbatim on the dev stack; then one catalog and restarts.

The block is extracted from README.md and run by bash in the repository (so it cannot drift from
what the commands do). It starts the stack itself (``fairgate dev up``); the rest of this module
uses that stack: the event it created is the bridge's event too, a gate key from ``organizer
gate-key`` syncs through the bridge (also after ``dev down``/``dev up``), the chain's state and
the bridge's database survive the restart, and ``dev reset`` wipes everything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from fairgate.settings import PROJECT_ROOT
from tests.cli.conftest import PASSWORD, Cli, base_env, write_event_file

pytestmark = pytest.mark.slow

README = PROJECT_ROOT / "README.md"


def readme_block() -> str:
    """The bash block under "## Using it"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Using it", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "README.md has no bash block under 'Using it'"
    return match.group(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, str]]:
    home = tmp_path_factory.mktemp("readme-home")
    (home / "password.txt").write_text(PASSWORD + "\n")
    env = base_env(home, "http://127.0.0.1:9")  # the block's `eval "$(fairgate dev env)"` fixes it
    env["FAIRGATE_PASSWORD_FILE"] = str(home / "password.txt")  # the prompts of the block
    env["FAIRGATE_KEYSTORE_SCRYPT_N"] = "1024"
    script = "set -euo pipefail\n" + readme_block()
    # a folder that looks like the checkout to the block (.venv/, examples/): what the block
    # writes (ticket.png) lands there, not in the repository
    work = tmp_path_factory.mktemp("readme-cwd")
    for name in (".venv", "examples"):
        (work / name).symlink_to(PROJECT_ROOT / name)
    try:
        run = subprocess.run(
            ["bash", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        transcript = f"--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
        assert run.returncode == 0, f"the README block failed:\n{transcript}"
        exports = dict(
            re.findall(
                r"export (FAIRGATE_\w+)=(\S+)",
                subprocess.run(
                    [str(PROJECT_ROOT / ".venv/bin/fairgate"), "dev", "env"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout,
            )
        )
        cli = Cli({**env, **exports}, home)
        yield cli, transcript
    finally:
        subprocess.run(
            [str(PROJECT_ROOT / ".venv/bin/fairgate"), "dev", "down"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )


def test_the_readme_block_runs_as_written(stack: tuple[Cli, str]) -> None:
    _, transcript = stack
    assert "created Fairgate Live: Night One (NIGHT1)" in transcript
    assert "accepted the event with wallet 0x" in transcript  # the two-step hand-over
    assert "above this ticket's resale cap of 0.055 ETH" in transcript  # the refused listing
    assert "ADMITTED valid ticket of Fairgate Live: Night One" in transcript
    assert "order" in transcript and "minted" in transcript  # the card purchase
    assert "unexpected error" not in transcript and "Traceback" not in transcript


def test_the_cli_event_is_the_bridges_event(stack: tuple[Cli, str]) -> None:
    cli, _ = stack
    url = cli.env["FAIRGATE_PUBLIC_URL"]
    (event,) = [e for e in httpx.get(f"{url}/events").json() if e["symbol"] == "NIGHT1"]
    record = json.loads((cli.home / "events.json").read_text())
    (address,) = [a for r in record.values() for a in r if r[a]["symbol"] == "NIGHT1"]
    assert event["contract_address"] == address
    assert [t["name"] for t in event["tiers"]] == ["General", "VIP"]
    # a fan's other device (no events.json): the same event and tier names, from the catalog
    other = cli.home / "other-device"
    other.mkdir()
    shown = cli("fan", "events", "NIGHT1", env={"FAIRGATE_HOME": str(other)}).stdout
    assert re.search(r"0\s+│\s+General\s+│\s+0.05 ETH", shown), shown
    assert re.search(r"1\s+│\s+VIP\s+│\s+0.2 ETH\s+│\s+200.00 USD", shown), shown


def test_a_token_event_is_created_through_the_bridge(stack: tuple[Cli, str], tmp_path) -> None:
    """The README's event file in the dev chain's FUSD: the bridge creates it (organizer key on
    this device), checks the token, prices it in FUSD, and sells it by card as any other."""
    cli, _ = stack
    body = (
        (PROJECT_ROOT / "examples" / "night-one.toml")
        .read_text(encoding="utf-8")
        .replace('symbol = "NIGHT1"', 'symbol = "COIN1"')
        .replace('"Fairgate Live: Night One"', '"Coin Night"')
        .replace('image = "poster.png"', 'image = "poster.png"\ncurrency = "FUSD"')
        .replace('\nprice = "0.05"', '\nprice = "50"')
        .replace('\nprice = "0.2"', '\nprice = "120.5"')
    )
    created = cli("organizer", "create", str(write_event_file(tmp_path, body)), "-w", "dev:3")
    assert "through the bridge (its event" in created.stdout, created.output
    assert re.search(r"General\s+│\s+50 FUSD\s+│\s+50.00 USD", created.stdout), created.stdout
    assert "120.5 FUSD" in created.stdout
    url = cli.env["FAIRGATE_PUBLIC_URL"]
    (event,) = [e for e in httpx.get(f"{url}/events").json() if e["symbol"] == "COIN1"]
    assert event["chain_currency"]["symbol"] == "FUSD" and event["chain_currency"]["decimals"] == 6
    assert [t["face_value"] for t in event["tiers"]] == ["50", "120.5"]
    shown = cli("fan", "events", "COIN1").stdout
    assert "paid in FUSD" in shown
    assert re.search(r"General\s+│\s+50 FUSD\s+│\s+50.00 USD", shown), shown
    # a currency the bridge could not settle in is refused before anything is uploaded
    nobody = body.replace('"COIN1"', '"COIN2"').replace('"FUSD"', '"0x' + "5a" * 20 + '"')
    refused = cli(
        "organizer", "create", str(write_event_file(tmp_path, nobody)), "-w", "dev:3", ok=False
    )
    assert "no contract at this address on this chain" in refused.stderr, refused.output


def _gate_env(cli: Cli) -> dict[str, str]:
    issued = cli("organizer", "gate-key", "NIGHT1", "--gate", "north").stdout
    exports = dict(re.findall(r"export (FAIRGATE_\w+)=(\S+)", issued))
    assert exports["FAIRGATE_GATE_API_KEY"].startswith("fg_")
    assert exports["FAIRGATE_GATE_ID"] == "north"  # the key's gate, as the bridge named it
    return exports


def test_a_gate_key_syncs_through_the_bridge_across_a_restart(stack: tuple[Cli, str]) -> None:
    cli, _ = stack
    gate = _gate_env(cli)
    synced = cli("gate", "sync", "NIGHT1", env=gate).stdout
    assert re.search(r"hub: pushed \d+, pulled \d+", synced), synced
    sales = cli("organizer", "sales", "NIGHT1").stdout
    assert "not yet anchored" in sales  # the README's entry, known to the hub only

    assert "kept for the next `fairgate dev up`" in cli("dev", "down").stderr
    cli("dev", "up", timeout=300)
    cli.env.update(dict(re.findall(r"export (FAIRGATE_\w+)=(\S+)", cli("dev", "env").stdout)))
    # the same chain (state kept) and the same bridge database: the same key still works
    again = cli(
        "gate",
        "sync",
        "NIGHT1",
        env={**gate, **{"FAIRGATE_GATE_HUB_URL": cli.env["FAIRGATE_PUBLIC_URL"]}},
    )
    assert re.search(r"hub: pushed \d+, pulled \d+", again.stdout), again
    shown = cli("fan", "events", "NIGHT1").stdout
    assert re.search(r"General\s+│\s+0.05 ETH\s+│\s+50.00 USD\s+│\s+500\s+│\s+[1-9]", shown), shown
    assert "reorg" not in again.output.lower()


def test_dev_reset_wipes_every_piece_of_state(stack: tuple[Cli, str]) -> None:
    cli, _ = stack
    reset = cli("dev", "reset", "--yes")
    assert "stopped" in reset.stdout and "removed" in reset.stdout
    assert (cli.home / "wallets").is_dir()  # keys are never wiped
    for gone in ("events.json", "fairgate.db", "gate", "orders", "organizer-key.json"):
        assert not (cli.home / gone).exists(), gone
    cli("dev", "up", timeout=300)
    cli.env.update(dict(re.findall(r"export (FAIRGATE_\w+)=(\S+)", cli("dev", "env").stdout)))
    assert "no events on this chain yet" in cli("fan", "events").stdout
    assert httpx.get(f"{cli.env['FAIRGATE_PUBLIC_URL']}/events").json() == []
    assert os.environ.get("FAIRGATE_HOME") != str(cli.home)  # never the user's own home
