"""Typed client of one event's TicketEvent contract (see contracts/interfaces/ITicketEvent.sol).

Every method is one contract function; reads return the dataclasses of ``chain.types`` and writes
return a :class:`chain.client.TxResult` with the decoded events. Reverts are raised as the
contract's own errors (``chain.errors``): ``PriceAboveCap``, ``SoldOut``, ``ResaleClosed``...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from chain.client import ContractClient, TxResult
from chain.keys import Signer
from chain.types import (
    EIP712_NAME,
    EIP712_VERSION,
    SELL_ORDER_TYPES,
    ZERO_ADDRESS,
    Listing,
    MintRun,
    SellOrder,
    SignedOrder,
    Tier,
    TransferPolicy,
    commitment_bytes,
)
from fairgate.errors import ConfigError
from zk.identity import gate_scope

__all__ = ["IssuedRun", "TicketEventClient"]


@dataclass(frozen=True)
class IssuedRun:
    """Tickets issued by one run of a mint or purchase (from a ``TicketsIssued`` event)."""

    holder: ChecksumAddress
    tier_id: int
    order_ref: bytes
    token_ids: tuple[int, ...]
    commitments: tuple[int, ...]


class TicketEventClient(ContractClient):
    """One event's ticket contract."""

    artifact_name = "TicketEvent"

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

    def tier_count(self) -> int:
        return int(self.call("tierCount"))

    def tier(self, tier_id: int) -> Tier:
        return Tier.from_abi(self.call("tier", tier_id))

    def tiers(self) -> list[Tier]:
        return [self.tier(i) for i in range(self.tier_count())]

    def tier_of(self, token_id: int) -> int:
        return int(self.call("tierOf", token_id))

    def owner_of(self, token_id: int) -> ChecksumAddress:
        return to_checksum_address(self.call("ownerOf", token_id))

    def balance_of(self, owner: str) -> int:
        return int(self.call("balanceOf", to_checksum_address(owner)))

    def next_token_id(self) -> int:
        return int(self.call("nextTokenId"))

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
        """Buy tickets at face value with ETH, one per commitment."""
        price = self.tier(tier_id).face_value * len(commitments)
        return self.transact(
            "purchase", tier_id, [commitment_bytes(c) for c in commitments], value=price
        )

    def release_from_custody(self, token_id: int, to: str) -> TxResult:
        return self.transact("releaseFromCustody", token_id, to_checksum_address(to))

    def revoke(self, token_ids: Sequence[int]) -> TxResult:
        return self.transact("revoke", list(token_ids))

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
                    tier_id=int(event.args["tierId"]),
                    order_ref=bytes(event.args["orderRef"]),
                    token_ids=tuple(range(first, first + len(commitments))),
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
        return self.transact("buy", token_id, commitment_bytes(commitment), value=price)

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
        return self.transact(
            "buyWithOrder",
            signed.order.as_abi(),
            signed.signature,
            commitment_bytes(commitment),
            value=signed.order.price,
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
        (`value` is their sum), so their holders can claim refunds. Minter or organizer."""
        return self.transact("fundGiftRefunds", list(token_ids), value=value)

    def settle_held(self, token_ids: Sequence[int]) -> TxResult:
        return self.transact("settleHeld", list(token_ids))

    def held_sale(self, token_id: int) -> tuple[str, int]:
        """The held first sale of a card ticket: (seller, price), or (zero address, 0)."""
        seller, price = self.call("heldSale", token_id)
        return str(seller), int(price)

    def refund_deadline(self) -> int:
        return int(self.call("refundDeadline"))
