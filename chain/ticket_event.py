"""Typed client of one event's TicketEvent contract (see contracts/interfaces/ITicketEvent.sol).

Every method is one contract function; reads return the dataclasses of ``chain.types`` and writes
return a :class:`chain.client.TxResult` with the decoded events. Reverts are raised as the
contract's own errors (``chain.errors``): ``PriceAboveCap``, ``SoldOut``, ``ResaleClosed``...
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_abi.abi import decode as abi_decode
from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from chain.client import ContractClient, TxResult
from chain.erc20 import Erc20Client, currency_at
from chain.events import EventReader, EventRecord
from chain.keys import Signer
from chain.receipts import checksum_address
from chain.rpc import get_logs_paged
from chain.types import (
    EIP712_NAME,
    EIP712_VERSION,
    SELL_ORDER_TYPES,
    ZERO_ADDRESS,
    Currency,
    HeldSale,
    Listing,
    MintRun,
    SellOrder,
    SignedOrder,
    Tier,
    TierId,
    TokenId,
    TransferPolicy,
    commitment_bytes,
    encode_mint_batch,
)
from fairgate.errors import ConfigError
from fairgate.settings import Settings
from zk.identity import gate_scope

__all__ = [
    "TICKETS_ISSUED",
    "Issued",
    "IssuedRun",
    "TicketEventClient",
    "TicketLogReader",
    "issued_from_logs",
]

#: topic 0 of ``TicketsIssued(holder indexed, tierId indexed, orderRef indexed, firstTokenId,
#: commitments)``
TICKETS_ISSUED = bytes(Web3.keccak(text="TicketsIssued(address,uint256,bytes32,uint256,bytes32[])"))
#: topic 0 of ``Resold(tokenId indexed, seller indexed, buyer indexed, price, royalty, commitment)``
RESOLD = bytes(Web3.keccak(text="Resold(uint256,address,address,uint256,uint256,bytes32)"))


@dataclass(frozen=True)
class Issued:
    """One ``TicketsIssued`` log as the bridge stores it: hex order reference and commitments,
    the transaction it came in (see :func:`issued_from_logs`)."""

    order_ref: str
    holder: ChecksumAddress
    first_token_id: TokenId
    commitments: tuple[str, ...]
    tx_hash: str
    tier_id: TierId

    @property
    def token_ids(self) -> tuple[TokenId, ...]:
        first = self.first_token_id
        return tuple(TokenId(first + i) for i in range(len(self.commitments)))


def issued_from_logs(address: str, logs: Iterable[Mapping[str, Any]]) -> list[Issued]:
    """The ``TicketsIssued`` logs of one contract among ``logs``, decoded directly.

    web3's generic event decoding took ~4 ms per log (8.6 s of a 1,000-ticket run, profiled);
    this reads the three indexed topics and the data of the one event the bridge needs most. The
    data (``uint256 firstTokenId, bytes32[] commitments``) is read by its fixed layout when it has
    it (eth_abi's general decoder took ~0.1 ms a log), else decoded by eth_abi.
    """
    found = []
    wanted = address.lower()
    for entry in logs:
        topics = entry["topics"]
        if (
            not topics
            or bytes(topics[0]) != TICKETS_ISSUED
            or str(entry["address"]).lower() != wanted
        ):
            continue
        data = bytes(entry["data"])
        count = int.from_bytes(data[64:96], "big") if len(data) >= 96 else -1
        if data[32:64] == _ARRAY_AT_64 and len(data) == 96 + 32 * count:
            first = int.from_bytes(data[:32], "big")
            commitments = tuple("0x" + data[i : i + 32].hex() for i in range(96, len(data), 32))
        else:
            first, raw = abi_decode(["uint256", "bytes32[]"], data)
            commitments = tuple("0x" + bytes(c).hex() for c in raw)
        found.append(
            Issued(
                order_ref="0x" + bytes(topics[3]).hex(),
                holder=cast(
                    "ChecksumAddress", checksum_address("0x" + bytes(topics[1])[12:].hex())
                ),
                first_token_id=TokenId(int(first)),
                commitments=commitments,
                tx_hash="0x" + bytes(entry["transactionHash"]).hex(),
                tier_id=TierId(int.from_bytes(bytes(topics[2]), "big")),
            )
        )
    return found


_ARRAY_AT_64 = (64).to_bytes(32, "big")


class TicketLogReader(EventReader):
    """:class:`chain.events.EventReader` with ``TicketsIssued`` decoded by
    :func:`issued_from_logs`: args ``holder``, ``tierId``, ``orderRef`` (hex), ``firstTokenId``
    and ``count`` (the commitments are not kept)."""

    def _decode(self, entry: Any, block_hash: str) -> EventRecord | None:
        topics = entry["topics"]
        if not topics or bytes(topics[0]) != TICKETS_ISSUED:
            return super()._decode(entry, block_hash)
        (issued,) = issued_from_logs(str(entry["address"]), [entry])
        return EventRecord(
            event="TicketsIssued",
            args={
                "holder": issued.holder,
                "tierId": issued.tier_id,
                "orderRef": issued.order_ref,
                "firstTokenId": issued.first_token_id,
                "count": len(issued.commitments),
            },
            block_number=int(entry["blockNumber"]),
            block_hash=block_hash,
            tx_hash=issued.tx_hash,
            log_index=int(entry["logIndex"]),
            address=to_checksum_address(str(entry["address"])),
        )


@dataclass(frozen=True)
class IssuedRun:
    """Tickets issued by one run of a mint or purchase (from a ``TicketsIssued`` event)."""

    holder: ChecksumAddress
    tier_id: TierId
    order_ref: bytes
    token_ids: tuple[TokenId, ...]
    commitments: tuple[int, ...]


def compact_signature(signature: bytes) -> tuple[bytes, bytes]:
    """A 65-byte ECDSA signature (r | s | v, v 27 or 28, as wallets sign) as EIP-2098's
    (r, vs): vs = (v - 27) << 255 | s, the form ``buyWithOrder`` takes."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("not a 65-byte signature with v 27 or 28")
    vs = int.from_bytes(signature[32:64], "big") | ((signature[64] - 27) << 255)
    return signature[:32], vs.to_bytes(32, "big")


class TicketEventClient(ContractClient):
    """One event's ticket contract.

    Payments go in the event's currency (:meth:`currency`): ETH is sent as the transaction's
    value; a token is taken by the contract from the sender, who either approved it beforehand
    or, by default, signs an EIP-2612 permit that travels in the same transaction
    (``permitAndCall``): a fan buys in one transaction, with no approval left behind.
    """

    artifact_name = "TicketEvent"
    #: how long a permit signed for a purchase stays valid (it is used at once)
    PERMIT_TTL_S = 3600

    # ------------------------------------------------------------------ reads

    def organizer(self) -> ChecksumAddress:
        return to_checksum_address(self.call("organizer"))

    def pending_organizer(self) -> ChecksumAddress | None:
        """The organizer proposed and not yet accepted (None when none)."""
        pending = to_checksum_address(self.call("pendingOrganizer"))
        return None if int(pending, 16) == 0 else pending

    def name(self) -> str:
        return str(self.call("name"))

    def cancelled(self) -> bool:
        return bool(self.call("cancelled"))

    def transfer_policy(self) -> TransferPolicy:
        return TransferPolicy(self.call("transferPolicy"))

    def schedule(self) -> tuple[int, int]:
        starts, ends = self.call("schedule")
        return int(starts), int(ends)

    def currency_address(self) -> ChecksumAddress:
        """The settlement token, or the zero address for ETH."""
        return to_checksum_address(self.call("currency"))

    def currency(self) -> Currency:
        """The event's settlement currency, with its symbol and decimals (read once)."""
        cached: Currency | None = self.__dict__.get("_currency")
        if cached is None:
            cached = currency_at(self.w3, self.currency_address())
            self.__dict__["_currency"] = cached
        return cached

    def token(self) -> Erc20Client | None:
        """The settlement token's client, writing as this client's sender (None for ETH)."""
        currency = self.currency()
        return None if currency.is_eth else Erc20Client(self.w3, currency.address, self.sender)

    def tier_count(self) -> int:
        return int(self.call("tierCount"))

    def tier(self, tier_id: int) -> Tier:
        return Tier.from_abi(self.call("tier", tier_id))

    def tier_remaining(self, tier_id: int) -> int:
        """Tickets of the tier not minted yet."""
        return self.tier(tier_id).remaining

    def tiers(self) -> list[Tier]:
        return [self.tier(i) for i in range(self.tier_count())]

    def tier_of(self, token_id: int) -> TierId:
        return TierId(int(self.call("tierOf", token_id)))

    def owner_of(self, token_id: int) -> ChecksumAddress:
        return to_checksum_address(self.call("ownerOf", token_id))

    def balance_of(self, owner: str) -> int:
        return int(self.call("balanceOf", to_checksum_address(owner)))

    def next_token_id(self) -> TokenId:
        return TokenId(int(self.call("nextTokenId")))

    def symbol(self) -> str:
        return str(self.call("symbol"))

    def resale_cap(self, tier_id: int) -> int:
        return int(self.call("resaleCap", tier_id))

    def listing(self, token_id: int) -> Listing | None:
        seller, price, reserved = self.call("listing", token_id)
        if int(seller, 16) == 0:
            return None
        reserved_for = None if int(reserved, 16) == 0 else to_checksum_address(reserved)
        return Listing(token_id, to_checksum_address(seller), int(price), reserved_for)

    def locked(self, token_id: int) -> bool:
        return bool(self.call("locked", token_id))

    def paid_in_eth(self, token_id: int) -> bool:
        return bool(self.call("paidInEth", token_id))

    def moves_of(self, token_id: int) -> int:
        return int(self.call("movesOf", token_id))

    def order_nonce(self, seller: str) -> int:
        return int(self.call("orderNonce", to_checksum_address(seller)))

    def order_fulfilled(self, order_ref: bytes) -> bool:
        return bool(self.call("orderFulfilled", order_ref))

    def token_uri(self, token_id: int) -> str:
        return str(self.call("tokenURI", token_id))

    def royalty_info(self, token_id: int, sale_price: int) -> tuple[ChecksumAddress, int]:
        receiver, amount = self.call("royaltyInfo", token_id, sale_price)
        return to_checksum_address(receiver), int(amount)

    def escrow_balance(self) -> int:
        return int(self.call("escrowBalance"))

    def royalty_balance(self) -> int:
        return int(self.call("royaltyBalance"))

    def pending_of(self, account: str) -> int:
        return int(self.call("pendingOf", to_checksum_address(account)))

    def roles_of(self, account: str) -> int:
        return int(self.call("rolesOf", to_checksum_address(account)))

    def gate_scope(self) -> int:
        """The event's gate scope, as the TicketGate computes it (keccak of chain id, address)."""
        return gate_scope(int(self.w3.eth.chain_id), self.address)

    def ticket_gate(self) -> ChecksumAddress:
        """The platform's TicketGate (see :class:`chain.ticket_gate.TicketGateClient`)."""
        return to_checksum_address(self.call("ticketGate"))

    def is_gate_operator(self, account: str) -> bool:
        return bool(self.call("isGateOperator", to_checksum_address(account)))

    def root_grace_period(self) -> int:
        return int(self.call("rootGracePeriod"))

    def holders_changed_at(self) -> int:
        """When holders last changed (0: never); replaced roots published by then are refused."""
        return int(self.call("holdersChangedAt"))

    # ------------------------------------------------------------------ organizer

    def add_tier(self, tier: Tier) -> TxResult:
        return self.transact("addTier", tier.as_abi())

    def set_resale_window(self, tier_id: int, opens_at: int, closes_at: int) -> TxResult:
        return self.transact("setResaleWindow", tier_id, opens_at, closes_at)

    def propose_organizer(self, organizer: str) -> TxResult:
        """Propose another organizer; the event is theirs once they accept."""
        return self.transact("proposeOrganizer", to_checksum_address(organizer))

    def accept_organizer(self) -> TxResult:
        """Accept the event proposed to this client's sender."""
        return self.transact("acceptOrganizer")

    def set_roles(self, account: str, roles: int) -> TxResult:
        return self.transact("setRoles", to_checksum_address(account), roles)

    def set_base_uri(self, base_uri: str) -> TxResult:
        return self.transact("setBaseURI", base_uri)

    def cancel(self) -> TxResult:
        return self.transact("cancel")

    def withdraw_proceeds(self, to: str) -> TxResult:
        return self.transact("withdrawProceeds", to_checksum_address(to))

    # ------------------------------------------------------------------ minting and primary sale

    def mint_batch(
        self, tier_id: int, runs: Sequence[MintRun], *, gas: int | None = None
    ) -> TxResult:
        """Mint many orders' tickets in one transaction (runs already fulfilled are skipped)."""
        return self.transact("mintBatch", tier_id, [run.as_abi() for run in runs], gas=gas)

    def purchase(self, tier_id: int, commitments: Sequence[int]) -> TxResult:
        """Buy tickets at face value in the event's currency, one per commitment."""
        price = self.tier(tier_id).face_value * len(commitments)
        return self._pay(price, "purchase", tier_id, [commitment_bytes(c) for c in commitments])

    def _pay(self, price: int, function: str, *args: object) -> TxResult:
        """Call ``function`` paying ``price``: as the value in ETH; in a token through the
        sender's allowance when it covers the price, else with a permit signed here."""
        token = self.token()
        if token is None:
            return self.transact(function, *args, value=price)
        if self.sender is None:
            raise ConfigError(f"{self!r} has no sender: it can only read")
        if price == 0 or token.allowance(self.sender.address, self.address) >= price:
            return self.transact(function, *args)
        deadline = int(self.w3.eth.get_block("latest")["timestamp"]) + self.PERMIT_TTL_S
        permit = token.sign_permit(self.sender.signer, self.address, price, deadline)
        return self.transact("permitAndCall", permit.as_abi(), self.encode(function, *args))

    def purchase_tx(self, tier_id: int, commitments: Sequence[int]) -> dict[str, Any]:
        """``purchase`` unsent, without its ``value`` (face value times the tickets)."""
        return self.unsent("purchase", tier_id, [commitment_bytes(c) for c in commitments])

    def release_from_custody(self, token_id: int, to: str) -> TxResult:
        return self.transact("releaseFromCustody", token_id, to_checksum_address(to))

    def revoke(self, token_ids: Sequence[int]) -> TxResult:
        return self.transact("revoke", list(token_ids))

    # Unsent transactions, for a caller that sends them itself (the bridge's workers record the
    # hashes before waiting) and ``check_*``: the same call through ``eth_call``, raising the
    # contract's revert without spending gas.

    def mint_batch_tx(self, tier_id: int, runs: Sequence[MintRun | bytes]) -> dict[str, Any]:
        """``mintBatch`` unsent, its calldata written directly (``encode_mint_batch``; a run may
        come already encoded by :func:`chain.types.encode_run`)."""
        return {"to": self.address, "data": "0x" + encode_mint_batch(tier_id, runs).hex()}

    def check_mint(self, tier_id: int, runs: Sequence[MintRun], *, sender: str) -> None:
        self.call("mintBatch", tier_id, [run.as_abi() for run in runs], sender=sender)

    def revoke_tx(self, token_ids: Sequence[int]) -> dict[str, Any]:
        return self.unsent("revoke", list(token_ids))

    def check_revoke(self, token_ids: Sequence[int], *, sender: str) -> None:
        self.call("revoke", list(token_ids), sender=sender)

    def release_tx(self, token_id: int, to: str) -> dict[str, Any]:
        return self.unsent("releaseFromCustody", token_id, to_checksum_address(to))

    def fund_gift_refunds_tx(self, token_ids: Sequence[int], value: int) -> dict[str, Any]:
        """``fundGiftRefunds`` unsent: the face value of given-away card tickets into escrow, as
        the value in ETH; a token event takes ``value`` of its token from the sender's allowance
        instead (the bridge's minter approves the event), so the transaction carries no ETH."""
        value = value if self.currency().is_eth else 0
        return {**self.unsent("fundGiftRefunds", list(token_ids)), "value": value}

    # ------------------------------------------------------------------ issued tickets

    def issued_in(self, receipt: Mapping[str, Any]) -> list[Issued]:
        """The tickets a mined transaction issued (fast decoding, see :func:`issued_from_logs`)."""
        return issued_from_logs(self.address, receipt["logs"])

    def find_issued(
        self, order_refs: Sequence[str], from_block: int, *, settings: Settings | None = None
    ) -> dict[str, Issued]:
        """``TicketsIssued`` of these orders (``0x`` hex refs) since ``from_block``, by ref (read
        in pages of ``settings.rpc_max_log_blocks`` blocks)."""
        if not order_refs:
            return {}
        found = self.issued_since(from_block, order_refs, settings=settings)
        return {i.order_ref: i for i in found}

    def issued_since(
        self,
        from_block: int,
        order_refs: Sequence[str] | None = None,
        *,
        settings: Settings | None = None,
    ) -> list[Issued]:
        """Every ``TicketsIssued`` log since ``from_block`` (of these orders only, when given), in
        chain order and repeats kept, so a caller can see an order issued twice."""
        refs = None if order_refs is None else [HexBytes(r) for r in order_refs]
        logs = get_logs_paged(
            self.w3,
            {
                "address": self.address,
                "fromBlock": from_block,
                "topics": [HexBytes(TICKETS_ISSUED), None, None, refs],
            },
            settings=settings or (self.sender.settings if self.sender else None),
        )
        return issued_from_logs(self.address, logs)

    @staticmethod
    def issued_runs(result: TxResult) -> list[IssuedRun]:
        """The tickets a mint or purchase issued, run by run."""
        runs = []
        for event in result.named("TicketsIssued"):
            first = int(event.args["firstTokenId"])
            commitments = tuple(int.from_bytes(c, "big") for c in event.args["commitments"])
            runs.append(
                IssuedRun(
                    holder=to_checksum_address(event.args["holder"]),
                    tier_id=TierId(int(event.args["tierId"])),
                    order_ref=bytes(event.args["orderRef"]),
                    token_ids=tuple(TokenId(t) for t in range(first, first + len(commitments))),
                    commitments=commitments,
                )
            )
        return runs

    # ------------------------------------------------------------------ resale market

    def list(self, token_id: int, price: int, reserved_for: str | None = None) -> TxResult:
        return self.transact(
            "list", token_id, price, to_checksum_address(reserved_for or ZERO_ADDRESS)
        )

    def gift(self, token_id: int, to: str) -> TxResult:
        """A gift is a listing at price 0 that only ``to`` can take (with their commitment)."""
        return self.list(token_id, 0, to)

    def cancel_listing(self, token_id: int) -> TxResult:
        return self.transact("cancelListing", token_id)

    def buy(self, token_id: int, commitment: int, *, price: int | None = None) -> TxResult:
        """Buy a listed ticket; ``price`` defaults to the listing's current price.

        Passing the price you agreed to protects you: if the seller changed it, the contract
        refuses (``WrongPayment``) instead of charging you the new price.
        """
        if price is None:
            current = self.listing(token_id)
            price = current.price if current else 0
        return self._pay(price, "buy", token_id, commitment_bytes(commitment))

    def sign_order(
        self,
        signer: Signer,
        token_id: int,
        price: int,
        *,
        deadline: int,
        reserved_for: str | None = None,
    ) -> SignedOrder:
        """A signed sell order for the holder's ticket, bound to its move count and nonce."""
        order = SellOrder(
            token_id=token_id,
            price=price,
            moves=self.moves_of(token_id),
            nonce=self.order_nonce(signer.address),
            deadline=deadline,
            reserved_for=reserved_for or ZERO_ADDRESS,
        )
        message = encode_typed_data(
            domain_data={
                "name": EIP712_NAME,
                "version": EIP712_VERSION,
                "chainId": int(self.w3.eth.chain_id),
                "verifyingContract": self.address,
            },
            message_types=SELL_ORDER_TYPES,
            message_data=order.as_message(),
        )
        signed = signer.sign_message(message)
        return SignedOrder(
            order=order, signature=bytes(signed.signature), event_address=self.address
        )

    def buy_with_order(self, signed: SignedOrder, commitment: int) -> TxResult:
        """Buy through a signed order: its terms and compact signature (the contract supplies the
        move count and nonce the order was signed for; a stale order reverts InvalidOrder)."""
        return self._pay(
            signed.order.price,
            "buyWithOrder",
            signed.order.as_terms(),
            *compact_signature(signed.signature),
            commitment_bytes(commitment),
        )

    def cancel_all_orders(self) -> TxResult:
        return self.transact("cancelAllOrders")

    def rotate_commitment(self, token_id: int, commitment: int) -> TxResult:
        return self.transact("rotateCommitment", token_id, commitment_bytes(commitment))

    def withdraw_pending(self) -> TxResult:
        return self.transact("withdrawPending")

    def claim_refund(self, token_ids: Sequence[int], to: str | None = None) -> TxResult:
        """Refund the tickets' face value to `to` (default: the sender)."""
        if self.sender is None:
            raise ConfigError(f"{self!r} has no sender: it can only read")
        return self.transact("claimRefund", list(token_ids), to or self.sender.address)

    def fund_gift_refunds(self, token_ids: Sequence[int], value: int) -> TxResult:
        """Pay the face value of card tickets given away before a cancellation into escrow
        (`value` is their sum, in the event's currency: a token event's bridge pays in the token,
        with its allowance or a permit), so their holders can claim refunds. Minter or
        organizer."""
        return self._pay(value, "fundGiftRefunds", list(token_ids))

    def settle_held(self, token_ids: Sequence[int]) -> TxResult:
        return self.transact("settleHeld", list(token_ids))

    def held_sale(self, token_id: int) -> HeldSale:
        """The held first sale of a card ticket (price 0 and the zero address: none)."""
        seller, price = self.call("heldSale", token_id)
        return HeldSale(to_checksum_address(seller), int(price))

    def held_sales_of(self, seller: str, from_block: int = 0) -> dict[TokenId, HeldSale]:
        """The card tickets whose first sale by ``seller`` is still held (``settle_held`` pays
        them out once the event has ended), found from ``seller``'s ``Resold`` logs since
        ``from_block`` (filtered by the node on the indexed seller)."""
        seller = to_checksum_address(seller)
        logs = get_logs_paged(
            self.w3,
            {
                "address": self.address,
                "fromBlock": from_block,
                "topics": [HexBytes(RESOLD), None, HexBytes(bytes(12) + bytes.fromhex(seller[2:]))],
            },
            settings=self.sender.settings if self.sender else None,
        )
        sold = sorted({TokenId(int.from_bytes(bytes(log["topics"][1]), "big")) for log in logs})
        held = {token_id: self.held_sale(token_id) for token_id in sold}
        return {t: h for t, h in held.items() if h.price and h.seller == seller}

    def refund_deadline(self) -> int:
        return int(self.call("refundDeadline"))
