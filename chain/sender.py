"""Sending transactions: nonces, fees, gas, signing, receipts, replacement.

Why each piece is the way it is:

* **Nonces** are allocated locally, per (chain id, address), under one lock shared by every
  :class:`TransactionSender` of the process. Asking the node for ``getTransactionCount(pending)``
  before each send races between threads (two get the same nonce) and is wrong on Ganache 7, whose
  ``pending`` count ignores its own pool. The lock is held only from nonce allocation until the
  node has accepted (or refused) the signed transaction, so a refused send never leaves a gap; gas
  estimation and fee suggestion happen before it, receipts after it. The local counter is synced
  from ``pending`` on first use, and moved *forward* after "nonce too low" (another process or
  wallet used the account); it is never moved backwards automatically, because our own pooled
  transactions may not be counted by the node. :meth:`NonceManager.reset` forces a resync.
* **Fees**: EIP-1559 ``maxFeePerGas = 2 x next base fee + tip`` (survives six full blocks of
  base-fee increase), tip from ``eth_feeHistory`` percentiles with a floor (Ganache answers 0
  rewards for empty blocks; a zero tip is never mined by real nodes) and an optional ceiling;
  legacy ``gasPrice`` when the node has no base fee or the settings say ``fee_strategy=legacy``.
  Floor, ceiling and the max-fee cap come from the settings (a network profile's figures).
  Suggestions are cached for ``fee_cache_s`` to avoid two RPCs per send, and the tip (the reward
  percentiles: the costly read on a node, 17 ms of Ganache's CPU) for ``tip_cache_s``: between,
  a refresh reads the next base fee only.
* **Gas**: ``eth_estimateGas`` x ``gas_margin``, or an explicit ``gas=``. Estimation is where most
  reverts surface: they are raised decoded (``chain.errors``) before any nonce is used.
* **Receipts**: :meth:`TransactionSender.wait` polls every hash the handle ever had (the original
  and its replacements: any of them may be mined), waits for ``confirmations`` blocks *after* the
  inclusion block, then re-reads the receipt to make sure its block is still canonical.
* **Replacement**: a transaction not mined after ``replace_after_s`` is re-signed with the same
  nonce and fees raised by at least 12.5 % (the minimum geth, Ganache and most pools accept),
  never above ``max_fee_per_gas_cap``. This also re-broadcasts a transaction a node dropped.
* **Failures**: node errors, refusals and timeouts are :class:`fairgate.errors.ChainError`
  subclasses with the node's message and public data (nonce, hashes) only. A signed transaction is
  never broadcast twice after an unclear failure: Ganache 7.9.2 mines an identical raw
  transaction again when it is re-sent (seen here), so the sender first asks the node whether it
  already knows the hash.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from eth_typing import ChecksumAddress
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3Exception
from web3.types import TxReceipt

from chain.errors import (
    DecodedRevert,
    ErrorRegistry,
    UnknownRevert,
    decode_revert,
    replay_revert_data,
    revert_from_exception,
)
from chain.keys import Signer
from chain.receipts import fetch_receipt
from chain.rpc import check_chain
from fairgate.errors import ChainError, ConfigError
from fairgate.settings import DEV_CHAIN_IDS, Settings, get_settings, is_dev_address

__all__ = [
    "Fees",
    "NonceConflict",
    "NonceManager",
    "SendRefused",
    "TransactionSender",
    "TransactionTimeout",
    "TxHandle",
    "suggest_fees",
]

log = logging.getLogger(__name__)

GWEI = 10**9
FeeStrategy = Literal["auto", "eip1559", "legacy"]
MIN_BUMP_NUM, MIN_BUMP_DEN = 9, 8  # +12.5 %
_NODE_ERRORS = (Web3Exception, RequestException, OSError, ValueError)


class SendRefused(ChainError):
    """The node refused a transaction (insufficient funds, gas too low, underpriced...)."""

    code = "send_refused"


class NonceConflict(ChainError):
    """Our nonce was used by a transaction this process did not send."""

    code = "nonce_conflict"


class TransactionTimeout(ChainError):
    """No receipt (with the asked confirmations) before the timeout."""

    code = "tx_timeout"


# --- fees -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fees:
    """EIP-1559 fees, or a legacy gas price for nodes without a base fee."""

    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    gas_price: int | None = None

    @property
    def eip1559(self) -> bool:
        return self.max_fee_per_gas is not None

    def tx_fields(self) -> dict[str, int]:
        if self.eip1559:
            assert self.max_priority_fee_per_gas is not None
            return {
                "maxFeePerGas": self.max_fee_per_gas or 0,
                "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
            }
        return {"gasPrice": self.gas_price or 0}

    def bumped(self, at_least: Fees | None = None) -> Fees:
        """Every price raised by >= 12.5 % (rounded up), and not below ``at_least``."""

        def up(v: int | None, floor: int | None) -> int | None:
            if v is None:
                return floor
            raised = max(v + 1, math.ceil(v * MIN_BUMP_NUM / MIN_BUMP_DEN))
            return max(raised, floor or 0)

        other = at_least or Fees()
        if self.eip1559:
            return Fees(
                max_fee_per_gas=up(self.max_fee_per_gas, other.max_fee_per_gas),
                max_priority_fee_per_gas=up(
                    self.max_priority_fee_per_gas, other.max_priority_fee_per_gas
                ),
            )
        return Fees(gas_price=up(self.gas_price, other.gas_price))

    def max_price(self) -> int:
        return (self.max_fee_per_gas if self.eip1559 else self.gas_price) or 0


def suggest_fees(
    w3: Web3,
    *,
    min_priority_fee: int = GWEI,
    max_priority_fee: int | None = None,
    strategy: FeeStrategy = "auto",
    base_fee_multiplier: int = 2,
    reward_percentile: float = 50.0,
    history_blocks: int = 5,
    tip: int | None = None,
) -> Fees:
    """Fees for a transaction to be mined soon (see the module docstring for the formula).

    ``strategy``: ``eip1559`` (refused by a node without a base fee), ``legacy`` (a gas price,
    also on EIP-1559 chains, which accept type-0 transactions), ``auto`` (EIP-1559 when the node
    has a base fee). The tip is kept between ``min_priority_fee`` and ``max_priority_fee``.

    ``tip``: an EIP-1559 tip read earlier by this function (:class:`TransactionSender` keeps it
    for ``tip_cache_s``). Then only the next block's base fee is read: ``eth_feeHistory`` of one
    block without reward percentiles, 0.5 ms of Ganache's CPU, where the percentiles over five
    blocks of mint batches took 17 ms (each block's transactions are loaded to sort their tips)
    and the latest block 0.4 ms more. If that read fails, the full suggestion is made.
    """
    if tip is not None and strategy != "legacy":
        try:
            next_base = int(w3.eth.fee_history(1, "latest", [])["baseFeePerGas"][-1])
        except (*_NODE_ERRORS, KeyError, IndexError, TypeError) as exc:
            log.debug("base fee not read from eth_feeHistory (%s); full suggestion", exc)
        else:
            return Fees(
                max_fee_per_gas=next_base * base_fee_multiplier + tip, max_priority_fee_per_gas=tip
            )
    try:
        latest = w3.eth.get_block("latest")
    except _NODE_ERRORS as exc:
        raise ChainError(f"cannot read the latest block: {exc}") from exc
    base_fee = latest.get("baseFeePerGas")
    if base_fee is None and strategy == "eip1559":
        raise ChainError("the node's blocks have no base fee: set FAIRGATE_FEE_STRATEGY=legacy")
    if base_fee is None or strategy == "legacy":
        try:
            return Fees(gas_price=max(int(w3.eth.gas_price), min_priority_fee))
        except _NODE_ERRORS as exc:
            raise ChainError(f"cannot read the gas price: {exc}") from exc
    tip = 0
    next_base = int(base_fee)
    try:
        history = w3.eth.fee_history(history_blocks, "latest", [reward_percentile])
        rewards = [int(r[0]) for r in history.get("reward", []) if r and int(r[0]) > 0]
        tip = sorted(rewards)[len(rewards) // 2] if rewards else 0
        next_base = int(history["baseFeePerGas"][-1])  # the base fee of the next block
    except _NODE_ERRORS as exc:
        log.debug("eth_feeHistory unavailable (%s); trying eth_maxPriorityFeePerGas", exc)
        try:
            tip = int(w3.eth.max_priority_fee)
        except _NODE_ERRORS:
            tip = 0
    tip = max(tip, min_priority_fee)
    if max_priority_fee is not None:
        tip = min(tip, max_priority_fee)
    return Fees(max_fee_per_gas=next_base * base_fee_multiplier + tip, max_priority_fee_per_gas=tip)


# --- nonces -----------------------------------------------------------------------------------


@dataclass
class _AccountNonces:
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_nonce: int | None = None


class NonceManager:
    """Process-wide next-nonce per (chain, address); see the module docstring for the rules.

    A chain is its id *and* its genesis block hash: two development chains (Ganache, Hardhat)
    share chain id 1337 but not their genesis, and their nonces must not mix.
    """

    _registry_lock = threading.Lock()
    _accounts: dict[tuple[int, str, str], _AccountNonces] = {}

    @classmethod
    def account(cls, chain: tuple[int, str], address: str) -> _AccountNonces:
        key = (chain[0], chain[1], address.lower())
        with cls._registry_lock:
            return cls._accounts.setdefault(key, _AccountNonces())

    @classmethod
    def reset(cls, chain: tuple[int, str], address: str) -> None:
        """Forget the local counter: the next send resyncs from the node's pending count."""
        state = cls.account(chain, address)
        with state.lock:
            state.next_nonce = None


# --- handles ----------------------------------------------------------------------------------


@dataclass
class TxHandle:
    """A sent transaction: its nonce and every hash broadcast for it (last = current)."""

    sender: ChecksumAddress
    nonce: int
    tx: dict[str, Any]  # the unsigned fields, without nonce (public data only)
    fees: Fees
    hashes: list[str]
    sent_at: float  # time.monotonic() of the last broadcast
    replacements: int = 0
    # the receipt keeps only the logs whose first topic is one of these (0x hex, lowercase);
    # None: every log (chain.receipts.fetch_receipt)
    log_topics: frozenset[str] | None = None
    taken: int = 0  # consecutive looks that saw the nonce used but none of our receipts

    @property
    def tx_hash(self) -> str:
        return self.hashes[-1]


_NONCE_LOW = ("nonce too low", "correct nonce", "nonce has already been used", "oldnonce")
_KNOWN = ("already known", "known transaction", "already imported", "alreadyknown")
_UNDERPRICED = ("underpriced",)
_ACCOUNT_NONCE = re.compile(r"(?:account has nonce of|next nonce)[:\s]+(\d+)")


def _message(exc: BaseException) -> str:
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, Mapping):
        error = response.get("error")
        if isinstance(error, Mapping) and "message" in error:
            return str(error["message"])
    return str(exc)


def _has(message: str, needles: tuple[str, ...]) -> bool:
    text = message.lower()
    return any(n in text for n in needles)


class TransactionSender:
    """Sends transactions from one :class:`chain.keys.Signer` through one web3 connection.

    Thread safe: many threads may share one sender (or use one sender each for the same account).
    """

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        *,
        settings: Settings | None = None,
        gas_margin: float = 1.2,
        fee_cache_s: float = 1.0,
        tip_cache_s: float = 15.0,
        min_priority_fee: int | None = None,
        replace_after_s: float | None = None,
        max_replacements: int = 5,
        max_fee_per_gas_cap: int | None = None,
        poll_interval_s: float = 0.02,
        max_poll_interval_s: float | None = None,
        registry: ErrorRegistry | None = None,
    ) -> None:
        self.w3 = w3
        self.signer = signer
        self.settings = s = settings or get_settings()
        self.gas_margin = gas_margin
        self.fee_cache_s = fee_cache_s
        self.tip_cache_s = tip_cache_s
        # fee strategy, tip floor and caps: the settings' (FAIRGATE_NETWORK's profile) unless given
        self.fee_strategy: FeeStrategy = s.fee_strategy
        self.min_priority_fee = (
            s.min_priority_fee_wei if min_priority_fee is None else min_priority_fee
        )
        self.max_priority_fee = s.max_priority_fee_wei
        self.replace_after_s = replace_after_s
        self.max_replacements = max_replacements
        self.max_fee_per_gas_cap = (
            s.max_fee_per_gas_wei if max_fee_per_gas_cap is None else max_fee_per_gas_cap
        )
        self.poll_interval_s = poll_interval_s
        # receipts: polled at most every quarter block on a chain with a block time (1 s floor)
        self.max_poll_interval_s = (
            max(1.0, s.block_time_s / 4) if max_poll_interval_s is None else max_poll_interval_s
        )
        self.registry = registry
        try:
            self.chain_id = int(w3.eth.chain_id)
            genesis = "0x" + bytes(w3.eth.get_block(0)["hash"]).hex()
        except _NODE_ERRORS as exc:
            raise ChainError(f"cannot reach the node: {exc}") from exc
        check_chain(self.chain_id, s)
        if self.chain_id not in DEV_CHAIN_IDS and is_dev_address(signer.address):
            raise ConfigError(
                f"{signer.address} is an account of the public development mnemonic: refused on "
                f"chain {self.chain_id} (anything it holds there is lost); use a key of your own"
            )
        self.chain = (self.chain_id, genesis)
        self._nonces = NonceManager.account(self.chain, signer.address)
        self._fee_lock = threading.Lock()
        self._fees: tuple[float, Fees] | None = None
        self._tip: tuple[float, int] | None = None  # (when read, EIP-1559 tip)

    def __repr__(self) -> str:
        return f"TransactionSender(chain_id={self.chain_id}, sender={self.signer.address})"

    @property
    def address(self) -> ChecksumAddress:
        return self.signer.address

    # -- building ------------------------------------------------------------------------------

    def fees(self) -> Fees:
        """Current fee suggestion, cached for ``fee_cache_s`` seconds; the tip in it is read
        again only every ``tip_cache_s`` seconds (between, only the base fee: see
        :func:`suggest_fees`)."""
        with self._fee_lock:
            now = time.monotonic()
            if self._fees is None or now - self._fees[0] > self.fee_cache_s:
                tip = None
                if self._tip is not None and now - self._tip[0] <= self.tip_cache_s:
                    tip = self._tip[1]
                fees = self._suggest(tip=tip)
                if tip is None and fees.eip1559:
                    self._tip = (now, fees.max_priority_fee_per_gas or 0)
                if (
                    self.max_fee_per_gas_cap is not None
                    and fees.max_price() > self.max_fee_per_gas_cap
                ):
                    raise ChainError(
                        f"suggested fee {fees.max_price()} wei/gas exceeds the cap "
                        f"{self.max_fee_per_gas_cap}"
                    )
                self._fees = (now, fees)
            return self._fees[1]

    def estimate_gas(self, tx: Mapping[str, Any]) -> int:
        """``eth_estimateGas`` x margin; a revert is raised decoded, other failures ChainError."""
        try:
            estimate = int(self.w3.eth.estimate_gas({**tx, "from": self.address}))  # type: ignore[typeddict-item]
        except _NODE_ERRORS as exc:
            decoded = revert_from_exception(exc, registry=self.registry)
            if decoded is not None:
                raise decoded from exc
            raise ChainError(f"gas estimation failed: {_message(exc)}") from exc
        return math.ceil(estimate * self.gas_margin)

    # -- sending -------------------------------------------------------------------------------

    def send(
        self, tx: Mapping[str, Any], *, gas: int | None = None, fees: Fees | None = None
    ) -> TxHandle:
        """Sign and broadcast ``tx`` (``to``, ``data``, ``value``; no nonce/fees/chainId needed).

        Gas: ``gas=`` or ``tx["gas"]`` if given, else estimated x ``gas_margin``. Fees: ``fees=``
        or the cached suggestion. Returns once the node has accepted the transaction; call
        :meth:`wait` for the receipt. A revert found by the estimation is raised decoded and a
        refusal as :class:`SendRefused`; neither uses up a nonce.
        """
        if "from" in tx and str(tx["from"]).lower() != self.address.lower():
            raise ValueError(f"tx['from'] is {tx['from']}, but this sender signs as {self.address}")
        body: dict[str, Any] = {
            k: v for k, v in tx.items() if k not in {"from", "nonce", "gas", "chainId"}
        }
        body.setdefault("value", 0)
        if "data" in body:
            body["data"] = HexBytes(body["data"])
        if gas is None:
            gas = int(tx["gas"]) if "gas" in tx else self.estimate_gas(body)
        fees = fees or self.fees()
        body.update(chainId=self.chain_id, gas=gas)
        for key in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice"):
            body.pop(key, None)
        with self._nonces.lock:
            for _ in range(5):
                if self._nonces.next_nonce is None:
                    self._nonces.next_nonce = self._node_nonce("pending")
                nonce = self._nonces.next_nonce
                tx_hash, outcome, message = self._broadcast({**body, **fees.tx_fields()}, nonce)
                if outcome == "sent":
                    self._nonces.next_nonce = nonce + 1
                    log.debug("sent %s nonce=%d from %s", tx_hash, nonce, self.address)
                    return TxHandle(self.address, nonce, body, fees, [tx_hash], time.monotonic())
                if outcome == "nonce_low":
                    self._nonces.next_nonce = max(self._resync_floor(message), nonce + 1)
                    log.info(
                        "nonce %d of %s was used elsewhere; continuing at %d",
                        nonce,
                        self.address,
                        self._nonces.next_nonce,
                    )
                    continue
                if outcome == "underpriced":
                    pending = self._node_nonce("pending")
                    if pending > nonce:  # the nonce is taken by a transaction we did not send
                        self._nonces.next_nonce = pending
                        continue
                    raise SendRefused(
                        f"transaction underpriced at nonce {nonce}: a pending transaction we did "
                        f"not send holds it, or the fee is below the node's minimum ({message})",
                        nonce=nonce,
                    )
                if outcome == "unknown":
                    self._nonces.next_nonce = None  # resync next time
                    raise ChainError(
                        f"could not tell whether the node took transaction {tx_hash} "
                        f"(node error: {message}); the nonce is resynced on the next send",
                        nonce=nonce,
                    )
                raise SendRefused(f"node refused the transaction: {message}", nonce=nonce)
            raise NonceConflict(f"gave up finding a free nonce for {self.address}")

    def _broadcast(self, fields: dict[str, Any], nonce: int) -> tuple[str, str, str]:
        """Sign and send; returns (hash, outcome, node message). Outcome: sent, nonce_low,
        underpriced, refused, unknown (we cannot tell whether the node got it)."""
        signed = self.signer.sign_transaction({**fields, "nonce": nonce})
        tx_hash = "0x" + bytes(signed.hash).hex()
        try:
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
            return tx_hash, "sent", ""
        except _NODE_ERRORS as exc:
            message = _message(exc)
        if _has(message, _KNOWN):
            return tx_hash, "sent", message
        if _has(message, _NONCE_LOW):
            return tx_hash, "nonce_low", message
        if _has(message, _UNDERPRICED):
            return tx_hash, "underpriced", message
        # Some nodes (Ganache with vmErrorsOnRPCResponse) report a failure of a transaction they
        # did take, and a timeout says nothing either way: ask before deciding.
        try:
            known = self.w3.eth.get_transaction(HexBytes(tx_hash)) is not None
        except TransactionNotFound:
            known = False
        except _NODE_ERRORS:
            return tx_hash, "unknown", message
        return tx_hash, ("sent" if known else "refused"), message

    def _node_nonce(self, block: str) -> int:
        try:
            return int(self.w3.eth.get_transaction_count(self.address, block))  # type: ignore[arg-type]
        except _NODE_ERRORS as exc:
            raise ChainError(f"cannot read the nonce of {self.address}: {exc}") from exc

    def _resync_floor(self, message: str) -> int:
        match = _ACCOUNT_NONCE.search(message)
        from_message = int(match.group(1)) if match else 0
        return max(from_message, self._node_nonce("pending"))

    def replace(self, handle: TxHandle, *, fees: Fees | None = None) -> TxHandle:
        """Re-sign ``handle``'s transaction at the same nonce with fees bumped >= 12.5 %.

        If the nonce was mined meanwhile, nothing is sent (the caller's :meth:`wait` finds the
        receipt). Updates and returns ``handle``.
        """
        new_fees = fees or handle.fees.bumped(at_least=self._fresh_fees())
        cap = self.max_fee_per_gas_cap
        if cap is not None and new_fees.max_price() > cap:
            log.warning("not replacing %s: fees would exceed the cap %d", handle.tx_hash, cap)
            return handle
        tx_hash, outcome, message = self._broadcast(
            {**handle.tx, **new_fees.tx_fields()}, handle.nonce
        )
        handle.sent_at = time.monotonic()
        if outcome == "sent":
            handle.hashes.append(tx_hash)
            handle.fees = new_fees
            handle.replacements += 1
            log.info(
                "replaced nonce %d of %s: %s -> %s (max fee %d wei)",
                handle.nonce,
                self.address,
                handle.hashes[-2],
                tx_hash,
                new_fees.max_price(),
            )
        elif outcome == "nonce_low":
            log.info("nonce %d of %s already mined; not replacing", handle.nonce, self.address)
        else:
            log.warning("replacement of %s refused: %s", handle.tx_hash, message)
        return handle

    def _suggest(self, tip: int | None = None) -> Fees:
        return suggest_fees(
            self.w3,
            min_priority_fee=self.min_priority_fee,
            max_priority_fee=self.max_priority_fee,
            strategy=self.fee_strategy,
            tip=tip,
        )

    def _fresh_fees(self) -> Fees | None:
        try:
            return self._suggest()
        except ChainError:
            return None

    # -- receipts ------------------------------------------------------------------------------

    def wait(
        self,
        handle: TxHandle,
        *,
        confirmations: int | None = None,
        timeout: float | None = None,
    ) -> TxReceipt:
        """The receipt once ``confirmations`` blocks follow the inclusion block.

        Raises the decoded revert (``chain.errors``) if the transaction failed,
        :class:`NonceConflict` if another transaction (not one of the handle's) took its nonce,
        and :class:`TransactionTimeout` if nothing is mined (and confirmed) within ``timeout``.
        """
        confirmations = self.settings.confirmations if confirmations is None else confirmations
        timeout = self.settings.receipt_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + timeout
        interval = self.poll_interval_s
        last_error: str | None = None
        handle.taken = 0
        while True:
            try:
                receipt = self.poll(handle, confirmations=confirmations)
                if receipt is not None:
                    return receipt
                last_error = None
            except (DecodedRevert, NonceConflict):
                raise
            except (ChainError, *_NODE_ERRORS) as exc:
                last_error = _message(exc)
                log.warning("node error while waiting for %s: %s", handle.tx_hash, last_error)
            now = time.monotonic()
            if now >= deadline:
                detail = f"; last node error: {last_error}" if last_error else ""
                raise TransactionTimeout(
                    f"no confirmed receipt for nonce {handle.nonce} of {handle.sender} after "
                    f"{timeout:.0f}s (hashes {', '.join(handle.hashes)}){detail}",
                    nonce=handle.nonce,
                    hashes=list(handle.hashes),
                )
            time.sleep(min(interval, max(deadline - now, 0)))
            interval = min(interval * 1.5, self.max_poll_interval_s)

    def poll(self, handle: TxHandle, *, confirmations: int | None = None) -> TxReceipt | None:
        """One look at ``handle`` without waiting (what :meth:`wait` repeats): its receipt once
        mined and confirmed, else None; a transaction due for replacement is replaced. Raises as
        :meth:`wait` does (decoded revert, :class:`NonceConflict` on the second look in a row that
        finds the nonce used by another transaction) and ChainError/node errors of the reads."""
        confirmations = self.settings.confirmations if confirmations is None else confirmations
        receipt = self._find_receipt(handle)
        if receipt is not None:
            if receipt["status"] != 1:
                raise self._failure(receipt)
            return receipt if self._confirmed(receipt, confirmations) else None
        if self._node_nonce("latest") > handle.nonce:
            handle.taken += 1
            if handle.taken >= 2:
                raise NonceConflict(
                    f"nonce {handle.nonce} of {handle.sender} was mined in a transaction "
                    f"other than {', '.join(handle.hashes)}",
                    nonce=handle.nonce,
                )
        else:
            handle.taken = 0
            if self._should_replace(handle):
                self.replace(handle)
        return None

    def send_and_wait(
        self,
        tx: Mapping[str, Any],
        *,
        gas: int | None = None,
        confirmations: int | None = None,
        timeout: float | None = None,
    ) -> TxReceipt:
        return self.wait(self.send(tx, gas=gas), confirmations=confirmations, timeout=timeout)

    def _find_receipt(self, handle: TxHandle) -> TxReceipt | None:
        for tx_hash in reversed(handle.hashes):
            try:
                return fetch_receipt(self.w3, tx_hash, handle.log_topics)
            except TransactionNotFound:
                continue
        return None

    def _should_replace(self, handle: TxHandle) -> bool:
        return (
            self.replace_after_s is not None
            and handle.replacements < self.max_replacements
            and time.monotonic() - handle.sent_at >= self.replace_after_s
        )

    def _confirmed(self, receipt: TxReceipt, confirmations: int) -> bool:
        if confirmations <= 0:
            return True
        if int(self.w3.eth.block_number) - int(receipt["blockNumber"]) < confirmations:
            return False
        # still in the canonical chain? (a reorg may have moved or dropped it)
        block = self.w3.eth.get_block(receipt["blockNumber"])
        return bytes(block["hash"]) == bytes(receipt["blockHash"])

    def _failure(self, receipt: TxReceipt) -> DecodedRevert:
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        data = replay_revert_data(self.w3, receipt)
        if data is not None:
            return decode_revert(data, tx_hash=tx_hash, registry=self.registry)
        tx = self.w3.eth.get_transaction(receipt["transactionHash"])
        note = f"gas used {receipt['gasUsed']} of limit {tx['gas']}"
        if int(receipt["gasUsed"]) >= int(tx["gas"]):
            note += ": out of gas"
        return UnknownRevert(tx_hash=tx_hash, note=note)
