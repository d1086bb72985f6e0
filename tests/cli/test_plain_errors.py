"""Plain errors and names everywhere (issue 10): each message a user meets, in one line that says
what to do, and wallet names accepted wherever an address is. Run in-process (fast).

Development accounts 17 (organizer) and 18 (funder) of the session chain are this module's own.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chain.ganache import GanacheRunner, free_port
from cli.event_file import EventFileError, load_event_file
from fairgate.settings import PROJECT_ROOT
from tests.cli.conftest import Cli
from tests.cli.inprocess import InProcess

ORGANIZER = "dev:17"
FUNDER = "18"
EXAMPLES = PROJECT_ROOT / "examples"

SMALL_EVENT = """
name = "Small Room"
symbol = "SMALL1"
venue = "Back room"
start = 2031-03-01T20:00:00+01:00
end = 2031-03-01T23:00:00+01:00
image = "poster.png"

[[tiers]]
name = "Seat"
price = "0.01"
supply = 3
"""


@pytest.fixture(scope="module")
def fg(ganache: GanacheRunner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    home = tmp_path_factory.mktemp("plain-errors")
    runner = InProcess(home, ganache.url, FAIRGATE_PUBLIC_URL=f"http://127.0.0.1:{free_port()}")
    for name in ("alice", "bob", "dave"):
        runner.as_(name, "fan", "wallet", "create")
    yield runner


@pytest.fixture(scope="module")
def night(fg: InProcess) -> str:
    created = fg.as_(ORGANIZER, "organizer", "create", str(EXAMPLES / "night-one.toml"))
    assert "created Fairgate Live: Night One (NIGHT1)" in created.stdout
    return "NIGHT1"


def test_an_unreachable_chain_says_to_start_the_stack(tmp_path: Path) -> None:
    dead = InProcess(tmp_path, f"http://127.0.0.1:{free_port()}")
    line = dead.error("organizer", "sales", "NIGHT1")
    assert "chain node unreachable at http://127.0.0.1:" in line
    assert "start the stack: fairgate dev up" in line


def test_a_short_password_is_refused_with_its_reason(fg: InProcess, tmp_path: Path) -> None:
    weak = tmp_path / "weak.txt"
    weak.write_text("short\n")
    line = fg.error("fan", "wallet", "create", "-w", "weak", "--password-file", str(weak))
    assert "too short: a wallet password needs at least 8 characters" in line
    assert "copied" in line  # the reason, not only the rule
    assert not (fg.home / "wallets" / "weak.json").exists()


def test_wallet_list_names_every_wallet(fg: InProcess) -> None:
    listed = fg("fan", "wallet", "list").stdout
    for name in ("alice", "bob", "dave"):
        assert re.search(rf"{name}\s+│\s+0x[0-9a-fA-F]{{40}}", listed), listed


def test_dev_fund_takes_a_wallet_name(fg: InProcess) -> None:
    funded = fg("dev", "fund", "alice", "--eth", "2", "--account", FUNDER).stdout
    assert re.search(r"sent 2 ETH to alice \(0x[0-9a-fA-F]{40}\)", funded), funded
    line = fg.error("dev", "fund", "nobody", "--account", FUNDER)
    assert "recipient 'nobody' is neither an address nor a wallet of this device" in line
    assert "alice, bob, dave" in line
    line = fg.error("dev", "fund", "0x1234", "--account", FUNDER)
    assert "is not a valid address" in line


def test_event_summary_and_tier_names(fg: InProcess, night: str) -> None:
    listed = fg("fan", "events").stdout
    assert "NIGHT1" in listed and "Fairgate Live: Night One" in listed
    shown = fg("fan", "events", night).stdout
    assert re.search(r"0\s+│\s+General\s+│\s+0.05 ETH\s+│\s+-\s+│\s+500\s+│\s+0\s+│\s+500", shown)
    assert "0.055 ETH (110%)" in shown and "VIP" in shown
    line = fg.error("fan", "buy", night, "Balcony", "-w", "alice", "--yes")
    assert "has no tier 'Balcony': its tiers are 0 (General), 1 (VIP)" in line


def test_one_quantity_limit_shown_in_help_and_refusal(fg: InProcess, night: str) -> None:
    for command in ("buy", "buy-card"):
        assert "1 to 10 per order" in fg("fan", command, "--help").stdout
    line = fg.error("fan", "buy", night, "General", "-n", "11", "-w", "alice", "--yes")
    assert "-n 11: an order holds 1 to 10 tickets" in line


def test_no_eth_says_which_wallet_to_fund(fg: InProcess, night: str) -> None:
    line = fg.error(
        "fan",
        "buy",
        night,
        "General",
        "-w",
        "bob",
        "--password-file",
        str(fg.password_file),
        "--yes",
    )
    assert line.startswith("error: wallet bob (0x")
    assert line.endswith("fund this wallet: fairgate dev fund bob")


def test_buy_by_tier_name_then_only_n_left(fg: InProcess, night: str, tmp_path: Path) -> None:
    bought = fg.as_("alice", "fan", "buy", night, "General", "-n", "2", "--yes").stdout
    assert "bought tickets 0, 1" in bought
    shutil.copy(EXAMPLES / "poster.png", tmp_path / "poster.png")
    (tmp_path / "small.toml").write_text(SMALL_EVENT)
    fg.as_(ORGANIZER, "organizer", "create", str(tmp_path / "small.toml"))
    line = fg.error(
        "fan",
        "buy",
        "SMALL1",
        "Seat",
        "-n",
        "5",
        "-w",
        "alice",
        "--password-file",
        str(fg.password_file),
        "--yes",
    )
    assert "only 3 left in Seat (5 asked): ask for 3 or fewer" in line
    fg.as_("alice", "fan", "buy", "SMALL1", "0", "-n", "3", "--yes")
    assert "Seat is sold out" in fg.error(
        "fan",
        "buy",
        "SMALL1",
        "Seat",
        "-w",
        "alice",
        "--password-file",
        str(fg.password_file),
        "--yes",
    )


def test_gift_and_list_take_wallet_names_and_listings_show_them(fg: InProcess, night: str) -> None:
    fg.as_("alice", "fan", "buy", night, "VIP", "-n", "2", "--yes")
    tickets = fg("fan", "tickets", night, "-w", "alice").stdout
    vip = sorted(int(t) for t in re.findall(r"NIGHT1:(\d+)\s+│[^│]+│\s+VIP", tickets))
    gifted = fg.as_("alice", "fan", "gift", f"{night}:{vip[0]}", "dave").stdout
    assert re.search(r"gifted ticket \d+ to dave \(0x[0-9a-fA-F]{40}\)", gifted), gifted
    fg.as_("alice", "fan", "list", f"{night}:{vip[1]}", "0.2", "--to", "bob")
    fg.as_("alice", "fan", "list", f"{night}:0", "0.05")
    shown = fg("fan", "listings", night).stdout
    assert re.search(rf"NIGHT1:{vip[0]}\s+│\s+VIP\s+│\s+gift\s+│\s+0.2 ETH\s+│\s+only 0x", shown)
    assert re.search(rf"NIGHT1:{vip[1]}\s+│\s+VIP\s+│\s+0.2 ETH", shown), shown
    assert re.search(r"NIGHT1:0\s+│\s+General\s+│\s+0.05 ETH\s+│\s+0.055 ETH\s+│\s+anyone", shown)
    line = fg.error(
        "fan",
        "gift",
        f"{night}:0",
        "erin",
        "-w",
        "alice",
        "--password-file",
        str(fg.password_file),
    )
    assert "friend 'erin' is neither an address nor a wallet of this device" in line


def test_buy_card_checks_the_email_and_names_the_stack(fg: InProcess) -> None:
    line = fg.error(
        "fan", "buy-card", "NIGHT1", "General", "--email", "fan-at-example", "-w", "bob"
    )
    assert "'fan-at-example' does not look like an e-mail address (name@example.org)" in line
    line = fg.error(
        "fan", "buy-card", "NIGHT1", "General", "--email", "fan@example.org", "-w", "bob"
    )
    assert "bridge unreachable at http://127.0.0.1:" in line
    assert "start the stack: fairgate dev up" in line


def test_every_problem_of_an_event_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "first-guess.toml"
    path.write_text('name = "My night"\nstart = 2031-01-01T20:00:00Z\n[[tiers]]\nname = "GA"\n')
    with pytest.raises(EventFileError) as caught:
        load_event_file(path)
    message = str(caught.value)
    assert "has 6 problems" in message, message
    for where in ("symbol", "venue", "end", "image", "tiers[0].price", "tiers[0].supply"):
        assert f"  - {where}: missing (required)" in message, message


def test_the_example_event_file_is_valid() -> None:
    spec = load_event_file(EXAMPLES / "night-one.toml")
    assert spec.symbol == "NIGHT1" and spec.image.is_file()
    assert [t.price_cents for t in spec.tiers] == [5000, 20000]


def test_prove_says_when_the_qr_code_does_not_fit_and_warns_of_a_bare_challenge(
    fg: InProcess, night: str
) -> None:
    fg.as_("alice", "fan", "buy", night, "General", "--yes")
    fg.as_(ORGANIZER, "organizer", "publish-root", night)
    tickets = fg("fan", "tickets", night, "-w", "alice").stdout
    token = re.findall(r"NIGHT1:(\d+)", tickets)[0]
    narrow = InProcess(fg.home, fg.env["FAIRGATE_RPC_URL"], COLUMNS="80")
    proved = narrow.as_("alice", "fan", "prove", f"{night}:{token}", "--challenge", "0x2a")
    assert "warning: a bare number is not a challenge a gate issued" in proved.stderr
    assert "the QR code is 85 columns wide and this terminal has 80" in proved.stderr
    assert "write it with --png FILE" in proved.stderr
    assert "█" not in proved.stdout and "payload FG1:" in proved.stdout
    wide = fg.as_("alice", "fan", "prove", f"{night}:{token}", "--challenge", "0x2a")
    assert "█" in wide.stdout


def test_the_trusted_setup_reports_its_phase_and_percentage() -> None:
    """The first set-up on a machine takes minutes: each phase is reported while it runs."""
    import time

    from zk import setup

    seen: list[setup.SetupProgress] = []
    with setup.on_progress(seen.append):
        setup._zkpy("export vkey", lambda: time.sleep(1.2))
    assert {p.phase for p in seen} == {"export vkey"}
    assert seen[0].phase_fraction == 0 and seen[-1].phase_fraction == 1
    assert any(0 < p.phase_fraction < 1 for p in seen)  # the ticker ran while it worked
    assert seen[-1].number == 9 and seen[-1].total == 10
    assert 0.9 < seen[-1].overall < 1
    assert not setup._hooks  # nothing left behind


def test_the_event_file_format_is_in_the_help(fg: Cli) -> None:
    shown = fg("organizer", "create", "--help").stdout
    for line in ("[[tiers]]", 'card_price = "50.00"', "resale_cap_pct = 110", "examples/"):
        assert line in shown, shown
