"""A public chain's profile (FAIRGATE_NETWORK): its figures, the refusal of development keys there,
fees within the profile's strategy and caps, and every log reader paging within the provider's
eth_getLogs range.

The node-side tests run on one private Anvil started with a public chain's id (84532, Base
Sepolia's): it starts in well under a second, and is what a public chain looks like to the chain
layer (a chain id that is not a development one, EIP-1559 blocks).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import Web3RPCError

from api.accounts import BridgeAccounts
from chain.anvil import AnvilRunner
from chain.events import EventReader
from chain.ganache import free_port
from chain.keys import Signer, dev_signer
from chain.rpc import LimitedHTTPProvider, RateLimiter, check_chain, get_logs_paged
from chain.sender import TransactionSender
from fairgate.errors import ConfigError
from fairgate.settings import NETWORK_PROFILES, Settings, is_dev_key, settings_from_env
from tests.lanes import uses

BASE_SEPOLIA = 84532
PING = {"type": "event", "name": "Ping", "inputs": [], "anonymous": False}
DEV_KEY_1 = dev_signer(1)


def _dev_key(index: int) -> str:
    Account.enable_unaudited_hdwallet_features()
    account = Account.from_mnemonic(
        "test test test test test test test test test test test junk",
        account_path=f"m/44'/60'/0'/0/{index}",
    )
    return "0x" + bytes(account.key).hex()


# ---------------------------------------------------------------------------------- settings


def test_a_network_profile_fills_in_the_chain_figures() -> None:
    s = settings_from_env({"FAIRGATE_NETWORK": "base-sepolia"})
    assert s.chain_id == BASE_SEPOLIA
    assert (s.block_time_s, s.confirmations, s.reorg_depth) == (2.0, 10, 64)
    assert s.fee_strategy == "eip1559"
    assert s.max_fee_per_gas_wei == 5 * 10**9 and s.max_priority_fee_wei == 10**8
    assert (s.rpc_max_requests_per_s, s.rpc_max_log_blocks) == (10.0, 1_000)
    assert not s.dev_chain and not s.dev_accounts_allowed


def test_explicit_variables_win_over_the_profile() -> None:
    s = settings_from_env(
        {"FAIRGATE_NETWORK": "sepolia", "FAIRGATE_CONFIRMATIONS": "12",
         "FAIRGATE_RPC_MAX_LOG_BLOCKS": "500"}
    )  # fmt: skip
    assert s.chain_id == NETWORK_PROFILES["sepolia"]["chain_id"]
    assert (s.confirmations, s.rpc_max_log_blocks, s.block_time_s) == (12, 500, 12.0)


def test_development_defaults_are_unchanged() -> None:
    s = Settings()
    assert (s.network, s.chain_id, s.confirmations, s.block_time_s) == ("dev", 1337, 0, 0.0)
    assert s.dev_chain and s.dev_accounts_allowed
    assert s.fee_strategy == "auto" and s.min_priority_fee_wei == 10**9


@pytest.mark.parametrize("field", ["MINTER_KEY", "OPERATOR_KEY", "CUSTODY_KEY"])
def test_a_development_key_is_refused_on_a_public_chain(field: str) -> None:
    key = _dev_key(3)
    with pytest.raises(ConfigError) as caught:
        settings_from_env({"FAIRGATE_NETWORK": "base-sepolia", f"FAIRGATE_{field}": key})
    message = str(caught.value)
    assert f"FAIRGATE_{field}" in message and "development mnemonic" in message
    assert key[2:] not in message and key[2:].upper() not in message


def test_a_development_key_is_refused_on_any_non_development_chain_id() -> None:
    with pytest.raises(ConfigError, match="development mnemonic"):
        settings_from_env({"FAIRGATE_CHAIN_ID": "10", "FAIRGATE_MINTER_KEY": _dev_key(1)})


def test_a_development_key_is_fine_on_a_development_chain() -> None:
    for chain_id in ("1337", "31337"):
        s = settings_from_env({"FAIRGATE_CHAIN_ID": chain_id, "FAIRGATE_MINTER_KEY": _dev_key(1)})
        assert s.minter_key is not None


def test_an_own_key_is_accepted_on_a_public_chain() -> None:
    key = "0x" + "4c" * 32
    assert not is_dev_key(key)
    s = settings_from_env({"FAIRGATE_NETWORK": "base-sepolia", "FAIRGATE_MINTER_KEY": key})
    assert s.minter_key is not None and s.minter_key.get_secret_value() == key


def test_a_public_network_needs_its_own_chain_id() -> None:
    with pytest.raises(ConfigError, match="FAIRGATE_CHAIN_ID"):
        settings_from_env({"FAIRGATE_NETWORK": "custom"})
    with pytest.raises(ConfigError, match="FAIRGATE_CHAIN_ID"):
        settings_from_env({"FAIRGATE_NETWORK": "sepolia", "FAIRGATE_CHAIN_ID": "1337"})
    assert settings_from_env({"FAIRGATE_NETWORK": "custom", "FAIRGATE_CHAIN_ID": "10"}).chain_id


def test_an_unknown_network_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="FAIRGATE_NETWORK"):
        settings_from_env({"FAIRGATE_NETWORK": "mainnet-please"})


def test_the_bridge_never_falls_back_to_development_accounts_on_a_public_chain() -> None:
    public = BridgeAccounts.from_settings(Settings(network="base-sepolia"))
    with pytest.raises(ConfigError, match="FAIRGATE_MINTER_KEY"):
        _ = public.minter
    with pytest.raises(ConfigError, match="FAIRGATE_OPERATOR_KEY"):
        _ = public.operator
    dev = BridgeAccounts.from_settings(Settings())
    assert dev.minter.address == DEV_KEY_1.address  # development chains keep their accounts


def test_check_chain_refuses_a_node_that_is_not_the_configured_chain() -> None:
    check_chain(1337, Settings())
    check_chain(31337, Settings())  # any development node for a development configuration
    check_chain(BASE_SEPOLIA, Settings(network="base-sepolia"))
    with pytest.raises(ConfigError, match="FAIRGATE_NETWORK"):
        check_chain(BASE_SEPOLIA, Settings())  # dev settings (and dev keys) on a public chain
    with pytest.raises(ConfigError, match="expects chain 84532"):
        check_chain(11155111, Settings(network="base-sepolia"))


def test_the_rate_limiter_spaces_requests_after_a_burst() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(10, clock=lambda: now[0], sleep=sleep)
    waits = [limiter.acquire() for _ in range(12)]
    assert waits[:10] == [0.0] * 10  # a second's worth at once
    assert waits[10] == pytest.approx(0.1) and waits[11] == pytest.approx(0.1)
    now[0] += 5.0  # idle: the burst is available again, but never more than one second's worth
    assert [limiter.acquire() for _ in range(10)] == [0.0] * 10
    assert limiter.acquire() == pytest.approx(0.1)
    with pytest.raises(ValueError):
        RateLimiter(0)


# ---------------------------------------------------------------------------------- on a node


class RangeLimitedProvider(LimitedHTTPProvider):
    """A provider with a public endpoint's eth_getLogs limit: a wider range is refused the way
    providers refuse it; every range asked is recorded."""

    def __init__(self, url: str, max_blocks: int) -> None:
        super().__init__(url, request_kwargs={"timeout": 30})
        self.max_blocks = max_blocks
        self.ranges: list[tuple[int, int]] = []

    def make_request(self, method: Any, params: Any) -> Any:
        if method == "eth_getLogs":
            query = params[0]
            first, last = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            self.ranges.append((first, last))
            if last - first + 1 > self.max_blocks:
                message = f"block range too large (max {self.max_blocks})"
                return {"jsonrpc": "2.0", "id": 0, "error": {"code": -32602, "message": message}}
        return super().make_request(method, params)


@pytest.fixture(scope="module")
@uses("ganache")
def public_like_node() -> Iterator[AnvilRunner]:
    with AnvilRunner(free_port(), accounts=3, chain_id=BASE_SEPOLIA) as runner:
        yield runner


@pytest.fixture(scope="module")
def funded(public_like_node: AnvilRunner) -> LocalAccount:
    """A key of our own with ETH on the public-like chain."""
    w3 = Web3(Web3.HTTPProvider(public_like_node.url))
    account: LocalAccount = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**20)])  # type: ignore[arg-type]
    return account


def test_a_development_key_cannot_send_on_a_public_chain(public_like_node: AnvilRunner) -> None:
    w3 = Web3(Web3.HTTPProvider(public_like_node.url))
    with pytest.raises(ConfigError, match="development mnemonic"):
        TransactionSender(w3, dev_signer(1), settings=Settings(network="base-sepolia"))
    with pytest.raises(ConfigError, match="FAIRGATE_NETWORK"):  # dev settings, public node
        TransactionSender(w3, Signer.from_account(Account.create()), settings=Settings())


@pytest.mark.parametrize("strategy", ["eip1559", "legacy"])
def test_fees_follow_the_profile(
    public_like_node: AnvilRunner, funded: LocalAccount, strategy: str
) -> None:
    w3 = Web3(Web3.HTTPProvider(public_like_node.url))
    settings = Settings(
        network="base-sepolia", fee_strategy=strategy, min_priority_fee_wei=3 * 10**6,
        max_priority_fee_wei=5 * 10**6, confirmations=0,
    )  # fmt: skip
    sender = TransactionSender(w3, Signer.from_account(funded), settings=settings)
    receipt = sender.send_and_wait({"to": funded.address, "value": 1}, gas=21_000)
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    if strategy == "eip1559":
        assert int(tx["type"]) == 2
        assert 3 * 10**6 <= int(tx["maxPriorityFeePerGas"]) <= 5 * 10**6
        assert int(tx["maxFeePerGas"]) <= settings.max_fee_per_gas_wei  # type: ignore[operator]
    else:
        assert int(tx["type"]) == 0 and int(tx["gasPrice"]) >= 3 * 10**6


def test_log_readers_page_within_the_providers_range(
    public_like_node: AnvilRunner, funded: LocalAccount
) -> None:
    provider = RangeLimitedProvider(public_like_node.url, max_blocks=4)
    w3 = Web3(provider)
    settings = Settings(network="base-sepolia", rpc_max_log_blocks=4, confirmations=0)
    # a contract that emits Ping() on every call: PUSH32 topic PUSH1 0 PUSH1 0 LOG1 STOP
    runtime = b"\x7f" + bytes(Web3.keccak(text="Ping()")) + bytes.fromhex("60006000a100")
    init = bytes.fromhex("6027600c60003960276000f3") + runtime  # copy the runtime, return it
    sender = TransactionSender(w3, Signer.from_account(funded), settings=settings)
    address = sender.send_and_wait({"data": init}, gas=100_000)["contractAddress"]
    start = int(w3.eth.block_number)
    for _ in range(11):
        sender.send_and_wait({"to": address}, gas=30_000)
    params = {"address": address, "fromBlock": start}
    logs = get_logs_paged(w3, params, settings=settings)
    assert len(logs) == 11
    assert provider.ranges and all(b - a + 1 <= 4 for a, b in provider.ranges)
    with pytest.raises(Web3RPCError, match="range too large"):  # the limit is real
        w3.eth.get_logs({**params, "toBlock": int(w3.eth.block_number)})  # type: ignore[typeddict-item]
    provider.ranges.clear()
    # EventReader (the indexer's and the gate tree's reader) caps its chunks the same way
    reader = EventReader(
        w3, [PING], address, start_block=start, chunk_size=2_000, settings=settings
    )
    assert reader.max_chunk == 4
    events, _ = reader.read_all()
    assert [e["event"] for e in events] == ["Ping"] * 11
    assert len(provider.ranges) >= 3 and all(b - a + 1 <= 4 for a, b in provider.ranges)


def test_a_local_anvil_mines_at_the_settings_block_time() -> None:
    paced = AnvilRunner(8545, settings=Settings(block_time_s=2.0)).command()
    assert paced[paced.index("--block-time") + 1] == "2"
    assert "--block-time" not in AnvilRunner(8545, settings=Settings()).command()  # automine
