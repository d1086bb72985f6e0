"""The bridge's tables (SQLAlchemy 2 typed models).

Seats are counted, not listed: ``Tier.taken`` is the number of seats the bridge holds for its
orders (reserved, paid, being minted, minted), ``Tier.eth_minted`` the tickets bought with ETH
straight from the contract (kept by the indexer). A reservation is one conditional
``UPDATE tiers SET taken = taken + q WHERE taken + eth_minted + q <= supply``: the row lock of
that single statement is what makes oversell impossible, on PostgreSQL and SQLite alike.
Revoked tickets do not return to sale (the contract's ``minted`` counts burned tickets too).

Every order state change goes through :func:`api.services.orders.transition`, which also
appends an :class:`OrderEvent` (the visible history).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from chain.types import ETH, Currency


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}


class OrderState(enum.StrEnum):
    """An order's life. Terminal: declined, expired, cancelled, refunded, revoked, failed."""

    RESERVED = "reserved"  # seats held until expires_at, waiting for the payment
    PAID = "paid"  # payment confirmed, waiting for a minting batch
    MINTING = "minting"  # in a batch whose transaction may be in flight
    MINTED = "minted"  # tickets on-chain
    DECLINED = "declined"  # the payment failed; seats released
    EXPIRED = "expired"  # the reservation ran out before payment; seats released
    CANCELLED = "cancelled"  # unpaid order of a cancelled event
    REFUND_PENDING = "refund_pending"  # paid, must be refunded through the provider
    REFUNDED = "refunded"  # money returned, no tickets exist
    REVOKING = "revoking"  # money returned (or being), its tickets must be burned
    REVOKED = "revoked"  # money returned and tickets burned


#: States whose seats count in ``Tier.taken``.
HOLDING_STATES = frozenset(
    {
        OrderState.RESERVED,
        OrderState.PAID,
        OrderState.MINTING,
        OrderState.MINTED,
        OrderState.REVOKING,
        OrderState.REVOKED,
    }
)


class Role(enum.StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    GATE = "gate"


class Organizer(Base):
    __tablename__ = "organizers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    payout_address: Mapped[str | None] = mapped_column(String(42))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key ``fg_<key_id>_<secret>``: only the SHA-256 of the secret is stored.

    The secret has 256 bits of entropy, so a plain hash is as strong as a slow KDF here and keeps
    authentication to one indexed lookup per request.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("organizers.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    label: Mapped[str] = mapped_column(String(200), default="")
    # a gate key's gate: the gate id of the check-ins its device pushes to the hub (several
    # devices may share one gate); None for the other roles
    gate_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class EventState(enum.StrEnum):
    DEPLOYING = "deploying"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    FAILED = "failed"


def utc_naive(when: datetime) -> tuple[datetime, int]:
    """An aware time as (naive UTC, its offset in minutes): how events store their times, the
    same on SQLite (which drops offsets) and PostgreSQL."""
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return when.astimezone(UTC).replace(tzinfo=None), minutes


def local_time(stored: datetime, offset_min: int) -> datetime:
    """A stored event time back as the aware time it was given (its offset restored)."""
    aware = stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored
    return aware.astimezone(timezone(timedelta(minutes=offset_min)))


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    symbol: Mapped[str] = mapped_column(String(16))
    venue: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime] = mapped_column()  # UTC, naive (see local_time)
    ends_at: Mapped[datetime] = mapped_column()
    # the UTC offsets the times were given with, in minutes: returned as they came
    starts_at_offset_min: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ends_at_offset_min: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[str] = mapped_column(String(16), default=EventState.DEPLOYING)
    contract_address: Mapped[str | None] = mapped_column(String(42), unique=True)
    deploy_block: Mapped[int] = mapped_column(BigInteger, default=0)
    indexed_block: Mapped[int] = mapped_column(BigInteger, default=-1)  # indexer cursor
    indexed_block_hash: Mapped[str | None] = mapped_column(String(66))  # its hash (reorgs)
    # what the indexer applied from its last blocks, per block: a rewind takes it back
    index_journal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    chain_cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    # order refs handed out by the minting workers (see api.services.minting.sequential_ref)
    order_refs_issued: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column()
    # crash-safe deployment (api.services.catalog): the wallet the event goes to (None: the
    # operator keeps it), every deployment transaction recorded before its broadcast, last error
    deploy_owner: Mapped[str | None] = mapped_column(String(42))
    deploy_txs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    deploy_error: Mapped[str | None] = mapped_column(Text)
    # the on-chain settlement currency: None for ETH, else the ERC-20 token's address, with the
    # symbol and decimals read from the token when the event was created (:attr:`settlement`)
    chain_currency: Mapped[str | None] = mapped_column(String(42))
    chain_currency_symbol: Mapped[str | None] = mapped_column(String(16))
    chain_currency_decimals: Mapped[int | None] = mapped_column(Integer)

    tiers: Mapped[list[Tier]] = relationship(
        back_populates="event", order_by="Tier.tier_index", lazy="selectin"
    )

    @property
    def settlement(self) -> Currency:
        """The currency its tickets are priced and paid in on-chain (face values, resale,
        refunds): ETH, or the token it was created with."""
        if self.chain_currency is None:
            return ETH
        return Currency(
            self.chain_currency,
            self.chain_currency_symbol or self.chain_currency[:10],
            int(self.chain_currency_decimals or 18),
        )


class Tier(Base):
    __tablename__ = "tiers"
    __table_args__ = (UniqueConstraint("event_id", "tier_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    tier_index: Mapped[int] = mapped_column(Integer)  # the contract's tierId
    name: Mapped[str] = mapped_column(String(100))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    # decimal, in the smallest unit of the event's settlement currency (wei for ETH; uint96)
    face_value_wei: Mapped[str] = mapped_column(String(78))
    supply: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)  # seats held by bridge orders
    eth_minted: Mapped[int] = mapped_column(Integer, default=0)  # bought on-chain with ETH
    chain_minted: Mapped[int] = mapped_column(Integer, default=0)  # all tickets, per indexer
    resale_cap_bps: Mapped[int] = mapped_column(Integer)
    royalty_bps: Mapped[int] = mapped_column(Integer)
    resale_opens_at: Mapped[int] = mapped_column(BigInteger)
    resale_closes_at: Mapped[int] = mapped_column(BigInteger)

    event: Mapped[Event] = relationship(back_populates="tiers")

    @property
    def remaining(self) -> int:
        return max(self.supply - self.taken - self.eth_minted, 0)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_state_tier", "state", "tier_id"),
        Index("ix_orders_event_state", "event_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(320))
    wallet: Mapped[str | None] = mapped_column(String(42))  # None: custody
    commitments: Mapped[list[str]] = mapped_column(JSON)  # 0x-hex bytes32, one per ticket
    token_hash: Mapped[str] = mapped_column(String(64))
    # bytes32 on-chain, given when the order is first claimed for minting (None before)
    order_ref: Mapped[str | None] = mapped_column(String(66), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=OrderState.RESERVED)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    provider: Mapped[str] = mapped_column(String(16))
    payment_ref: Mapped[str | None] = mapped_column(String(255), unique=True)
    refund_ref: Mapped[str | None] = mapped_column(String(255))
    provider_refunded: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column()
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("mint_batches.id"))
    mint_attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    # the request that made the order (fairgate.logs): its webhook and mint log under it too
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column()

    history: Mapped[list[OrderEvent]] = relationship(
        order_by="OrderEvent.id", lazy="selectin", viewonly=True
    )
    tickets: Mapped[list[Ticket]] = relationship(
        order_by="Ticket.token_id", lazy="selectin", viewonly=True
    )


class OrderEvent(Base):
    """One line of an order's visible state history."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketState(enum.StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"
    NOT_REVOCABLE = "not_revocable"  # sold for a price on the market: its buyer keeps it
    # its payer gave it away: after a cancellation its holder is refunded on-chain, not the card
    GIVEN_AWAY = "given_away"
    REFUND_FUNDED = "refund_funded"  # the bridge paid its face value into escrow (fundGiftRefunds)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("event_id", "token_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id"))
    token_id: Mapped[int] = mapped_column(BigInteger)
    commitment: Mapped[str] = mapped_column(String(66))
    holder: Mapped[str] = mapped_column(String(42))
    custody: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default=TicketState.ISSUED)
    mint_tx: Mapped[str | None] = mapped_column(String(66))


class BatchState(enum.StrEnum):
    PREPARED = "prepared"  # intent recorded, nothing sent yet (or unknown: reconcile)
    SENT = "sent"  # a transaction hash is known
    DONE = "done"
    FAILED = "failed"


class MintBatch(Base):
    """The minting worker's intent: these orders go into one ``mintBatch`` transaction."""

    __tablename__ = "mint_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    tier_id: Mapped[int] = mapped_column(ForeignKey("tiers.id"))
    worker: Mapped[str] = mapped_column(String(100))
    minter: Mapped[str] = mapped_column(String(42))
    state: Mapped[str] = mapped_column(String(16), default=BatchState.PREPARED, index=True)
    tx_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """Every webhook event processed once: the unique key makes redelivery harmless."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    payment_ref: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocalPayment(Base):
    """A payment of the local (development) provider: what Stripe would keep on its side."""

    __tablename__ = "local_payments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(32), default="requires_payment_method")
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Claim(Base):
    """A fan's request to move a custody ticket to a wallet they proved they control."""

    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    to_address: Mapped[str] = mapped_column(String(42))
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def as_dict(row: Base) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}


class SiweNonce(Base):
    """A Sign-In with Ethereum nonce the bridge handed out: single use, short-lived."""

    __tablename__ = "siwe_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()


class DashboardSession(Base):
    """An organizer's signed-in browser: the cookie carries a random token, only its SHA-256 is
    stored. ``csrf_token`` is sent back with every state-changing form (synchronizer token)."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id"), index=True)
    address: Mapped[str] = mapped_column(String(42))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    client: Mapped[str] = mapped_column(String(64), default="")


class AuditEntry(Base):
    """One organizer or admin action: who, when, from where, what, the before and after.

    Append-only: a database trigger (PostgreSQL and SQLite alike, migration 0005) refuses every
    UPDATE and DELETE of a row, whatever code or endpoint tries it.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))  # "wallet 0x..", "key <id>", "admin"
    organizer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    client: Mapped[str] = mapped_column(String(64), default="")  # the request's address
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SecondFactor(Base):
    """An organizer's TOTP (RFC 6238) second factor.

    ``last_step`` is the 30-second time step of the last code accepted: a code of that step or an
    earlier one is refused (a replayed code), by one conditional UPDATE. ``failures`` counts wrong
    codes; at the limit the factor is locked until ``locked_until``.
    """

    __tablename__ = "second_factors"

    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))  # base32
    confirmed_at: Mapped[datetime | None] = mapped_column()
    last_step: Mapped[int] = mapped_column(BigInteger, default=-1)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()


class RecoveryCode(Base):
    """A one-time recovery code of a second factor: 80 random bits, only its SHA-256 stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizers.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column()


class ChainActivity(Base):
    """One on-chain happening of an event, for the dashboard's analytics: a primary sale (by
    card through the bridge, or for ETH), a resale, a revocation, a refund, a cancellation.

    Written by :mod:`api.services.activity` from the contract's logs (idempotent: one row per
    log); rows above a reorg's fork point are deleted and read again."""

    __tablename__ = "chain_activity"
    __table_args__ = (
        UniqueConstraint("event_id", "tx_hash", "log_index"),
        Index("ix_chain_activity_event_time", "event_id", "block_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(16))  # card_sale, eth_sale, resale, revoked, ...
    tier_index: Mapped[int | None] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    token_id: Mapped[int | None] = mapped_column(BigInteger)  # the first one, for a sale
    price_wei: Mapped[str] = mapped_column(String(78), default="0")
    royalty_wei: Mapped[str] = mapped_column(String(78), default="0")
    seller: Mapped[str | None] = mapped_column(String(42))
    buyer: Mapped[str | None] = mapped_column(String(42))
    order_ref: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[datetime] = mapped_column()
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the bridge read it


class ActivityCursor(Base):
    """Where :mod:`api.services.activity` stopped reading an event's logs (block and hash)."""

    __tablename__ = "activity_cursors"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))


class MailState(enum.StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt at next_attempt_at
    SENT = "sent"  # the SMTP server accepted it
    FAILED = "failed"  # refused for good (a 5xx answer, or out of attempts): see last_error


class MailKind(enum.StrEnum):
    MINTED = "minted"  # paid and minted: tickets, claim link (custody), the event's page
    REFUNDED = "refunded"  # the money went back before any ticket existed
    REVOKED = "revoked"  # the money went back; tickets revoked (or refunded on-chain)


class OutboxMessage(Base):
    """An e-mail to a fan, written in the same transaction as the order change it tells of, and
    sent by the worker (:mod:`api.services.notifications`). One per order and kind: the unique
    ``message_id`` (also the e-mail's Message-ID) makes enqueueing twice harmless."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_state_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=MailState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
