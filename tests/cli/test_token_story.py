"""An event that settles in the dev chain's test stablecoin (FUSD, 6 decimals), through the
``fairgate`` commands as users type them: the organizer names the currency in the event file,
fans get tokens from the faucet, buy (a permit signed by the CLI pays in the same transaction),
list, buy resale, refund; every price shows in FUSD with its decimals; wrong amounts, unknown
currencies and empty wallets get one plain line each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from web3 import Web3

from chain.deploy import ensure_test_stablecoin
from chain.keys import dev_signer
from chain.sender import TransactionSender
from fairgate.settings import Settings
from tests.cli.conftest import EVENT_TOML, FUNDER, ORGANIZER, Cli, write_event_file

pytestmark = pytest.mark.ganache

ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
TOKEN_TOML = (
    EVENT_TOML.replace('"NIGHT1"', '"COIN1"')
    .replace('"Night One"', '"Coin Night"')
    .replace('image = "poster.png"', 'image = "poster.png"\ncurrency = "FUSD"')
    .replace('price = "0.05"', 'price = "50"')
    .replace("price = 0.2", 'price = "120.5"')
)


@pytest.fixture(scope="module")
def story(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The test stablecoin on this home's platform (as `fairgate dev up` deploys it), wallets
    dora and eve with ETH for gas, dora with 500 FUSD, and the event COIN1 in FUSD."""
    rpc = cli.env["FAIRGATE_RPC_URL"]
    sender = TransactionSender(Web3(Web3.HTTPProvider(rpc)), dev_signer(int(FUNDER)))
    ensure_test_stablecoin(sender, Settings(home=cli.home, rpc_url=rpc))
    addresses = {}
    for name in ("dora", "eve"):
        made = cli.as_(name, "fan", "wallet", "create")
        addresses[name] = ADDRESS.findall(made.stdout)[0]
        cli("dev", "fund", addresses[name], "--eth", "1", "--account", FUNDER)
    minted = cli("dev", "faucet", "dora", "--amount", "500", "--account", FUNDER)
    assert "minted 500 FUSD to dora" in minted.stdout
    folder = tmp_path_factory.mktemp("coin-event")
    created = cli.as_(ORGANIZER, "organizer", "create", str(write_event_file(folder, TOKEN_TOML)))
    assert "50 FUSD" in created.stdout and "120.5 FUSD" in created.stdout
    assert "in FUSD" in created.stdout
    return addresses


def test_the_event_shows_its_prices_in_the_token(cli: Cli, story: dict[str, str]) -> None:
    shown = cli("fan", "events", "COIN1").stdout
    assert "paid in FUSD" in shown
    assert "50 FUSD" in shown and "55 FUSD (110%)" in shown and "120.5 FUSD" in shown


def test_buy_list_resell_and_refund_in_the_token(cli: Cli, story: dict[str, str]) -> None:
    bought = cli.as_("dora", "fan", "buy", "COIN1", "0", "-n", "2", "--yes")
    assert "bought tickets 0, 1 for 100 FUSD" in bought.stdout

    above = cli.as_("dora", "fan", "list", "COIN1:0", "60", ok=False)
    assert above.stderr.strip() == (
        "error: price 60 FUSD is above this ticket's resale cap of 55 FUSD"
    )
    fine = cli.as_("dora", "fan", "list", "COIN1:0", "55.0000001", ok=False)
    assert "at most 6 decimals" in fine.stderr
    assert "listed ticket 0 at 55 FUSD" in cli.as_("dora", "fan", "list", "COIN1:0", "55").stdout
    assert "listed at 55 FUSD" in cli("fan", "tickets", "-w", "dora").stdout
    assert "55 FUSD" in cli("fan", "listings", "COIN1").stdout

    broke = cli.as_("eve", "fan", "buy-resale", "COIN1:0", "--yes", ok=False)
    assert "holds 0 FUSD, less than the price 55 FUSD" in broke.stderr
    cli("dev", "faucet", "eve", "--amount", "100", "--account", FUNDER)
    resale = cli.as_("eve", "fan", "buy-resale", "COIN1:0", "--yes")
    assert "bought ticket 0 for 55 FUSD (royalty 2.75 FUSD to the organizer)" in resale.stdout

    cli.as_(ORGANIZER, "organizer", "cancel", "COIN1", "--yes")
    refund = cli.as_("eve", "fan", "refund", "COIN1:0")
    assert "refunded 50 FUSD for 1 ticket(s)" in refund.stdout
    withdrawn = cli.as_(ORGANIZER, "organizer", "withdraw", "COIN1", "--to", "dora")
    assert f"royalties 2.75 FUSD, escrow 0 FUSD to {story['dora']}" in withdrawn.stdout


def test_a_wrong_currency_or_price_is_refused_before_any_upload(cli: Cli, tmp_path: Path) -> None:
    other = TOKEN_TOML.replace('"COIN1"', '"COIN2"')
    unknown = other.replace('currency = "FUSD"', 'currency = "XYZ"')
    failed = cli.as_(
        ORGANIZER, "organizer", "create", str(write_event_file(tmp_path, unknown)), ok=False
    )
    assert "unknown currency 'XYZ'" in failed.stderr
    fine = other.replace('price = "50"', 'price = "50.0000001"')
    failed = cli.as_(
        ORGANIZER, "organizer", "create", str(write_event_file(tmp_path, fine)), ok=False
    )
    assert "has more decimals than FUSD (6)" in failed.stderr
