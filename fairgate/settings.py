"""Settings of every Fairgate component, in one place.

Each field is read from an environment variable named ``FAIRGATE_<FIELD>`` (upper case), with a
default that is safe for local development. ``pydantic-settings`` is not used because it cannot
co-install with eth-brownie's pin of ``python-dotenv==0.16``; the few lines below do its job.

Secrets (keys, webhook secrets, API keys) are ``SecretStr``: they never appear in a ``repr``, a
log line or an error. Outside ``env=dev`` the development defaults of secrets are refused.

Networks: ``FAIRGATE_NETWORK`` names a profile (:data:`NETWORK_PROFILES`) that fills in the chain
settings of a public chain (chain id, block time, confirmations, reorg depth, fees, RPC limits);
any ``FAIRGATE_*`` variable given as well overrides the profile's value. Outside the development
chain ids (:data:`DEV_CHAIN_IDS`) a key of the development mnemonic is refused: its accounts are
public knowledge, anything they hold on a real chain is taken within seconds.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from fairgate.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "FAIRGATE_"
DEV_WEBHOOK_SECRET = "whsec_fairgate_local_development_only"  # noqa: S105 - documented dev default
DEV_QUEUE_SECRET = "fairgate-queue-local-development-only"  # noqa: S105 - documented dev default
DEV_CLAIM_LINK_SECRET = "fairgate-claim-link-local-development-only"  # noqa: S105 - dev default
# Ganache's deterministic mnemonic: its accounts are public knowledge, for local chains only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"
#: Chain ids of local development nodes (Ganache and Anvil here run 1337; Anvil's and Hardhat's
#: own default is 31337). Development accounts and mnemonics are allowed on these only.
DEV_CHAIN_IDS = frozenset({1337, 31337})
#: How many accounts of a development mnemonic are checked (Ganache/Hardhat give 20, Anvil 10).
DEV_ACCOUNTS_CHECKED = 20
GWEI = 10**9

#: Profiles of public chains: what ``FAIRGATE_NETWORK=<name>`` fills in (explicit variables win).
#: Figures and why:
#:
#: * ``base-sepolia`` (OP-stack L2 testnet, chain id 84532): a block every 2 s; the sequencer's
#:   unsafe head can be reorganised until its batch is on L1, so a mint counts after 10 blocks
#:   (20 s) and the indexer rewinds up to 64 blocks on a fork; fees are tiny (base fee around
#:   0.001 gwei): a 0.001 gwei tip floor, tips capped at 0.1 gwei, max fee capped at 5 gwei; public
#:   RPC endpoints allow about 10 requests/s and ``eth_getLogs`` over at most 1,000 blocks on free
#:   plans; a stuck mint is replaced after 20 s (10 blocks).
#: * ``sepolia`` (L1 testnet, chain id 11155111): a slot every 12 s; reorgs past two blocks are
#:   rare since the merge, a mint counts after 3 blocks (~36 s) and the indexer rewinds up to 64
#:   (two epochs, finality); tips 1-5 gwei, max fee capped at 100 gwei; the same RPC limits;
#:   replacement after 60 s (5 slots), receipts awaited up to 10 minutes.
#: * ``custom``: no preset, but a public chain: set ``FAIRGATE_CHAIN_ID`` (a non-development id)
#:   and the rest yourself.
NETWORK_PROFILES: dict[str, dict[str, Any]] = {
    "dev": {},
    "base-sepolia": {
        "chain_id": 84532,
        "block_time_s": 2.0,
        "confirmations": 10,
        "reorg_depth": 64,
        "fee_strategy": "eip1559",
        "min_priority_fee_wei": GWEI // 1_000,
        "max_priority_fee_wei": GWEI // 10,
        "max_fee_per_gas_wei": 5 * GWEI,
        "rpc_max_requests_per_s": 10.0,
        "rpc_max_log_blocks": 1_000,
        "mint_replace_after_s": 20.0,
        "receipt_timeout_s": 300.0,
    },
    "sepolia": {
        "chain_id": 11155111,
        "block_time_s": 12.0,
        "confirmations": 3,
        "reorg_depth": 64,
        "fee_strategy": "eip1559",
        "min_priority_fee_wei": GWEI,
        "max_priority_fee_wei": 5 * GWEI,
        "max_fee_per_gas_wei": 100 * GWEI,
        "rpc_max_requests_per_s": 10.0,
        "rpc_max_log_blocks": 1_000,
        "mint_replace_after_s": 60.0,
        "receipt_timeout_s": 600.0,
    },
    "custom": {},
}


class Settings(BaseModel):
    """All settings. Construct with :func:`get_settings` (environment) or directly in tests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: Literal["dev", "test", "prod"] = "dev"
    home: Path = Field(default_factory=lambda: Path.home() / ".fairgate")
    build_dir: Path = PROJECT_ROOT / "build"
    node_modules: Path = PROJECT_ROOT / "node_modules"

    # Solidity toolchain (chain.solc, chain.compiler); brownie-config.yaml must say the same
    contracts_dir: Path = PROJECT_ROOT / "contracts"
    solc_binary: Path = PROJECT_ROOT / "tools" / "solc"  # any solc CLI speaking --standard-json
    solc_evm_version: str = "shanghai"  # the default build: the newest hardfork Ganache 7.9.2 runs
    # which build of the contracts a deployment uses (chain.evm): auto is the newest the node runs
    # (cancun on Anvil: transient-storage reentrancy lock, MCOPY; shanghai on Ganache); cancun is
    # refused on a node that cannot run it
    evm_version: Literal["auto", "shanghai", "cancun"] = "auto"
    # 1,000 runs: TicketEvent is 18,371 bytes; at 10,000 it is 21,448 (under 4 KB of headroom)
    solc_optimizer_runs: int = Field(default=1_000, ge=1)
    # viaIR measured (scripts/bench_gas.py): TicketEvent 2 KB smaller, but batch-mint +1 %,
    # resale +0.5 %, publish_root +1.6 %, deploy -2 %, and a 3-4x slower compile: off
    solc_via_ir: bool = False

    # chain (FAIRGATE_NETWORK fills these in for a public chain: NETWORK_PROFILES)
    network: Literal["dev", "base-sepolia", "sepolia", "custom"] = "dev"
    rpc_url: str = "http://127.0.0.1:8545"
    chain_id: int = Field(default=1337, ge=1)
    # seconds between blocks; 0: a block per transaction (a dev node's automine). Paces receipt
    # polling, and a local Anvil mines at this interval when it is set (chain.anvil)
    block_time_s: float = Field(default=0.0, ge=0, le=3_600)
    confirmations: int = Field(default=0, ge=0)  # blocks after its block before a mint counts
    reorg_depth: int = Field(default=64, ge=1)  # how far the indexers rewind on a fork
    receipt_timeout_s: float = Field(default=120.0, gt=0)
    # fees: eip1559 (maxFeePerGas = 2 x next base fee + tip) or legacy (gasPrice); auto picks
    # legacy only when the node's blocks have no base fee. The tip is at least min_priority_fee_wei
    # and at most max_priority_fee_wei; a fee above max_fee_per_gas_wei is never offered (a send
    # is refused, a replacement not made)
    fee_strategy: Literal["auto", "eip1559", "legacy"] = "auto"
    min_priority_fee_wei: int = Field(default=GWEI, ge=0)
    max_priority_fee_wei: int | None = Field(default=None, ge=0)
    max_fee_per_gas_wei: int | None = Field(default=None, gt=0)
    # RPC limits of the node's provider: requests per second (None: no limit) and the widest
    # block range of one eth_getLogs (every log reader pages within it)
    rpc_max_requests_per_s: float | None = Field(default=None, gt=0)
    rpc_max_log_blocks: int = Field(default=5_000, ge=1)
    ganache_port: int = 8545
    ganache_mnemonic: str = DEV_MNEMONIC
    ganache_accounts: int = Field(default=20, ge=1)
    ganache_block_gas_limit: int = 60_000_000
    ganache_balance_eth: int = Field(default=1_000_000, gt=0)  # per dev account
    ganache_hardfork: str = "shanghai"
    # which local node `fairgate dev up`, the demo and the benchmarks start (chain.nodes); both
    # take the ganache_* options above (port, mnemonic, accounts, gas limit, balance)
    node: Literal["ganache", "anvil"] = "ganache"
    # cancun: what the newest build of the contracts targets (chain.evm); it prices the opcodes
    # both builds use as shanghai does, so gas figures compare with Ganache's (prague would not:
    # EIP-7623's calldata floor)
    anvil_hardfork: str = "cancun"
    minter_key: SecretStr | None = None  # the bridge's hot wallet, hex private key
    # or keys from encrypted keystore files (Web3 Secret Storage), opened with this password
    minter_keystore: Path | None = None
    operator_keystore: Path | None = None
    keystore_password: SecretStr | None = None

    # bridge
    database_url: str | None = None  # default: SQLite file under ``home``
    payment_provider: Literal["local", "stripe"] = "local"
    # the local provider's time to open a payment session, standing in for a card processor's
    # round trip (scripts/bench_orders.py sets 0.1); 0 in development and tests
    local_payment_latency_s: float = Field(default=0.0, ge=0, le=30)
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    webhook_tolerance_s: int = Field(default=300, gt=0)
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    # Stripe's API host for the SDK (default: Stripe's own); e.g. a local stripe-mock
    stripe_api_base: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    public_url: str = "http://127.0.0.1:8000"
    reservation_ttl_s: int = Field(default=900, gt=0)
    currency: str = "usd"  # of card prices (minor units, e.g. cents)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    db_pool_size: int = Field(default=20, ge=1)
    admin_api_key: SecretStr | None = None  # bootstraps organizers (POST /admin/organizers)
    order_rate_per_s: float = Field(default=5.0, gt=0)  # order creations per client address
    order_rate_burst: int = Field(default=20, ge=1)
    # Redis (api.shared): what replicas share, i.e. order rate limits and hot catalog reads. None:
    # per-process limits, no cache (one process group, or no Redis on the machine). Never the
    # truth: with Redis down the bridge keeps selling on its fallbacks and its health says so.
    redis_url: SecretStr | None = None  # redis://[:password@]host:port/db (a secret: may hold one)
    redis_prefix: str = Field(default="fairgate:", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    redis_timeout_s: float = Field(default=0.25, gt=0)  # per call: a slow Redis is a down Redis
    redis_retry_s: float = Field(default=1.0, gt=0)  # after a failure, skip Redis this long
    # the waiting room's calls (no fallback: api.shared.SharedState.async_client(patient=True))
    redis_room_timeout_s: float = Field(default=5.0, gt=0)
    # on-sale waiting rooms (api.waiting_room, in Redis): the HMAC key of queue tokens
    queue_secret: SecretStr = SecretStr(DEV_QUEUE_SECRET)
    # the HMAC key of the claim links in ticket e-mails (api.security.claim_link_token): the
    # worker writes them, the bridge checks them; both need the same key
    claim_link_secret: SecretStr = SecretStr(DEV_CLAIM_LINK_SECRET)
    catalog_cache_ttl_s: float = Field(default=2.0, ge=0)  # 0: no catalog cache
    max_tickets_per_order: int = Field(default=10, ge=1, le=100)
    # structured logs (fairgate.logs): one JSON line per record (false: plain text)
    log_json: bool = True
    # the minting worker's own metrics port (fairgate.metrics); None: no metrics server
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # on-chain operator: deploys events through the factory and is their on-chain organizer
    operator_key: SecretStr | None = None
    factory_address: str | None = None
    custody_key: SecretStr | None = None  # holds custody tickets; default: the minter key
    minter_addresses: str = ""  # comma-separated extra minter accounts granted at event creation
    mint_batch_max_orders: int = Field(default=200, ge=1)
    mint_batch_max_tickets: int = Field(default=1_000, ge=1)
    # mintBatch gas limit = base + per order + per ticket (measured on Anvil, 200 two-ticket orders
    # to new holders: 55k gas an order, 11.0M a batch; gas-snapshot: 44.8k for a one-ticket order,
    # ~2.8k per extra ticket); a fixed limit avoids eth_estimateGas, 3x a send's cost on Ganache.
    # It is also what a block is packed by: 85k + 6k a ticket declared 19.5M for those 11.0M, so
    # only three batches fit a 60M block. An out-of-gas batch switches the worker to estimating.
    mint_gas_base: int = Field(default=100_000, gt=0)
    mint_gas_per_order: int = Field(default=60_000, gt=0)
    mint_gas_per_ticket: int = Field(default=5_000, gt=0)
    mint_batch_max_gas: int = Field(default=25_000_000, gt=0)
    mint_replace_after_s: float = Field(default=30.0, gt=0)  # a stuck mint is replaced after it
    # full batches' worth of orders a worker keeps sent and not yet finalized (it claims and
    # signs the next while the node mines the last; smaller batches, paid while it waits for a
    # receipt, fill the same room): api.services.minting.mint_some
    mint_in_flight: int = Field(default=2, ge=1)
    # a minting round claims at most this many full batches' worth of orders, and for at most
    # mint_round_max_s, before the worker's other duties (refunds, e-mails, the indexer)
    mint_round_batches: int = Field(default=20, ge=1)
    mint_round_max_s: float = Field(default=10.0, gt=0)
    worker_poll_s: float = Field(default=0.2, gt=0)
    # How long a card payment can be disputed (chargeback): after a cancellation, the face value
    # of a card ticket its payer gave away is paid on-chain to its holder only once this long
    # has passed since the payment, so a chargeback cannot also return it to the payer.
    card_dispute_days: float = Field(default=120.0, ge=0)

    # ticket e-mails (the worker sends the outbox over SMTP; no host: they wait in the outbox)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True  # upgrade the connection before logging in (port 587)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = Field(default="Fairgate <tickets@fairgate.localhost>", max_length=320)
    mail_retry_s: float = Field(default=30.0, ge=0)  # first retry; doubles, at most an hour
    mail_max_attempts: int = Field(default=10, ge=1)

    # gate and zero-knowledge
    # a replaced root stays acceptable this long (gate.roots also defers to the chain's
    # isAcceptedRoot at each sync, so a longer value here can never accept more than the event)
    root_grace_s: int = Field(default=3600, ge=0)
    challenge_ttl_s: int = Field(default=120, gt=0)  # a gate challenge is valid this long
    # gate devices (gate/): each has an id, one SQLite file and one root cache under gate_dir
    gate_id: str = Field(default="gate-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    gate_dir: Path | None = None  # default: <home>/gate
    gate_event: str | None = None  # the event contract this gate admits to
    gate_hub_url: str | None = None  # the hub (the bridge) that gates sync check-ins through
    gate_api_key: SecretStr | None = None  # this gate's hub key (the hub stores its hash)
    gate_hub_timeout_s: float = Field(default=3.0, gt=0)  # short: a door must not wait on it
    gate_sync_batch: int = Field(default=500, ge=1, le=5_000)  # check-ins per push or pull
    gate_anchor_batch: int = Field(default=200, ge=1, le=2_000)  # nullifiers per anchor tx
    # the gate device's own web service as staff reach it (the scanner page is <url>/scanner): the
    # dashboard's pairing link for a new gate key is <url>/scanner#key=<key>
    gate_device_url: str | None = None
    gate_challenge_rotate_s: int | None = Field(default=None, gt=0)  # default challenge_ttl_s/2
    # rotating window codes (zk.identity.window_challenge, 20 s windows): accepted while the
    # gate's clock is within the window, give or take this many seconds (phone/gate clock skew
    # and the time between showing and scanning); an older window is refused as "code expired"
    gate_window_skew_s: float = Field(default=10.0, ge=0, le=300)
    # the device service (fairgate gate serve): staff pair with this key (default: one made on
    # first start, kept in <gate_dir>/<gate_id>.staff-key); it syncs every gate_sync_every_s
    gate_staff_key: SecretStr | None = None
    gate_sync_every_s: float = Field(default=15.0, gt=0)
    gate_max_body: int = Field(default=16_384, ge=1_024, le=1_048_576)  # bytes per request
    # NORMAL: fsync by a background WAL checkpoint every gate_flush_s (a power cut loses at most
    # that much); FULL: an fsync inside every check-in (~10 ms here). See gate/store.py.
    gate_sqlite_synchronous: Literal["FULL", "NORMAL"] = "NORMAL"
    gate_flush_s: float = Field(default=1.0, gt=0, le=60)
    # zk ceremony artifacts, cached by content hash outside the work tree (reused by fresh clones)
    zk_cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "fairgate" / "zk")
    zk_build_dir: Path = PROJECT_ROOT / "build" / "zk"  # per-checkout copies (verifier .sol)
    zk_ptau_power: int = Field(default=13, ge=8, le=28)  # 2^13 >= the gate circuit's constraints
    zk_ptau_file: Path | None = None  # a public ceremony's prepared .ptau (production)
    zk_ptau_sha256: str | None = None  # its expected SHA-256, checked before use
    zk_native_poseidon: bool = True  # False forces light-poseidon-python (no C kernel)

    # IPFS: the Kubo RPC API; None means the embedded content-addressed store
    ipfs_api_url: str | None = None
    ipfs_timeout_s: float = Field(default=30.0, gt=0)  # also sent to the node as RPC `timeout`
    ipfs_max_bytes: int = Field(default=100 * 1024 * 1024, gt=0)  # largest file put or served

    @model_validator(mode="before")
    @classmethod
    def _apply_network_profile(cls, data: Any) -> Any:
        """The network's preset values, under the ones given explicitly."""
        if not isinstance(data, dict):
            return data
        profile = NETWORK_PROFILES.get(str(data.get("network", "dev")))
        if not profile:
            return data
        return {**profile, **data}

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> Settings:
        if self.env == "prod" and self.webhook_secret.get_secret_value() == DEV_WEBHOOK_SECRET:
            raise ValueError("FAIRGATE_WEBHOOK_SECRET must be set outside development")
        if self.env == "prod" and self.queue_secret.get_secret_value() == DEV_QUEUE_SECRET:
            raise ValueError("FAIRGATE_QUEUE_SECRET must be set outside development")
        if (
            self.env == "prod"
            and self.claim_link_secret.get_secret_value() == DEV_CLAIM_LINK_SECRET
        ):
            raise ValueError("FAIRGATE_CLAIM_LINK_SECRET must be set outside development")
        if self.network != "dev" and self.chain_id in DEV_CHAIN_IDS:
            raise ValueError(
                f"FAIRGATE_NETWORK={self.network} needs the chain's own id in FAIRGATE_CHAIN_ID, "
                f"not the development chain id {self.chain_id}"
            )
        if not self.dev_chain:
            for name in ("minter_key", "operator_key", "custody_key"):
                secret: SecretStr | None = getattr(self, name)
                if secret is not None and is_dev_key(secret.get_secret_value()):
                    raise ValueError(
                        f"FAIRGATE_{name.upper()} is an account of the public development "
                        f"mnemonic: refused on chain {self.chain_id} (only on development chain "
                        f"ids {sorted(DEV_CHAIN_IDS)}); use a key of your own"
                    )
        return self

    @property
    def dev_chain(self) -> bool:
        """A local development chain: its well-known accounts may be used."""
        return self.network == "dev" and self.chain_id in DEV_CHAIN_IDS

    @property
    def dev_accounts_allowed(self) -> bool:
        """Whether a missing key may fall back to a development account (never on a public chain,
        never in prod)."""
        return self.dev_chain and self.env != "prod"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'fairgate.db'}"

    @property
    def gate_path(self) -> Path:
        """Folder of this gate device's files (nullifier store, root cache)."""
        return self.gate_dir or self.home / "gate"


@lru_cache(maxsize=4)
def dev_addresses(
    mnemonic: str = DEV_MNEMONIC, count: int = DEV_ACCOUNTS_CHECKED
) -> frozenset[str]:
    """Lower-case addresses of the first ``count`` accounts of a mnemonic (``m/44'/60'/0'/0/i``)."""
    from eth_account import Account
    from eth_account.hdaccount import key_from_seed, seed_from_mnemonic

    seed = seed_from_mnemonic(mnemonic, "")
    return frozenset(
        Account.from_key(key_from_seed(seed, f"m/44'/60'/0'/0/{i}")).address.lower()
        for i in range(count)
    )


def is_dev_address(address: str) -> bool:
    """Whether ``address`` is an account of the public development mnemonic."""
    return address.lower() in dev_addresses()


def is_dev_key(private_key: str) -> bool:
    """Whether a hex private key is one of the development mnemonic's (False if not a key)."""
    from eth_account import Account

    try:
        address = Account.from_key(private_key).address
    except Exception:  # not a key: chain.keys says so, without quoting it
        return False
    return is_dev_address(address)


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``FAIRGATE_*`` variables; raise ConfigError on a bad value."""
    environ = dict(os.environ if environ is None else environ)
    values = {
        name: environ[ENV_PREFIX + name.upper()]
        for name in Settings.model_fields
        if ENV_PREFIX + name.upper() in environ
    }
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        errors = exc.errors()
        names = ", ".join(ENV_PREFIX + str(e["loc"][0]).upper() for e in errors if e["loc"])
        raise ConfigError(f"invalid setting(s) {names or '(model)'}: {errors[0]['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return settings_from_env()
