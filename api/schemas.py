"""Request and response models: the OpenAPI contract with clients.

Validation is strict where the chain would otherwise fail later: a holder commitment must be a
non-zero element of the BN254 field (the contract reverts the WHOLE batch otherwise), wallets are
20-byte hex addresses, tier numbers fit the contract's packed ``Tier`` struct.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.models import EventState, OrderState
from chain.types import MAX_RESALE_CAP_BPS, MIN_RESALE_CAP_BPS

FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
Address = Annotated[str, Field(pattern=ADDRESS_PATTERN, examples=["0x" + "ab" * 20])]
Commitment = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=r"^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$",
        description="A Poseidon commitment: decimal or 0x-hex, 0 < c < the BN254 field modulus",
    ),
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Model):
    code: str
    message: str


class ErrorBody(Model):
    error: ErrorDetail


def parse_commitment(value: str) -> int:
    number = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
    if not 0 < number < FIELD_MODULUS:
        raise ValueError("a holder commitment must be a non-zero element of the BN254 field")
    return number


# ---------------------------------------------------------------- events and tiers


class TierCreate(Model):
    name: str = Field(min_length=1, max_length=100)
    price_cents: int = Field(ge=0, le=100_000_000, description="Card price in minor units")
    face_value: str | None = Field(
        default=None,
        max_length=40,
        pattern=r"^[0-9]+(\.[0-9]+)?$",
        description="On-chain price in the event's chain_currency, as an exact decimal "
        '("0.05" ETH, "12.5" of a token); give this or face_value_wei',
        examples=["12.5"],
    )
    face_value_wei: int | None = Field(
        default=None,
        ge=0,
        lt=2**96,
        description="On-chain price in the smallest unit of the event's chain_currency (wei for "
        "ETH; millionths of a 6-decimal token); give this or face_value",
    )
    supply: int = Field(ge=1, le=100_000)
    resale_cap_bps: int = Field(
        default=10_000,
        ge=MIN_RESALE_CAP_BPS,
        le=MAX_RESALE_CAP_BPS,
        description="Resale cap in basis points of face value: 10,000 (face) to 20,000 (twice)",
    )
    royalty_bps: int = Field(default=500, ge=0, le=10_000)
    resale_opens_at: int = Field(default=0, ge=0, lt=2**40)
    resale_closes_at: int = Field(default=0, ge=0, lt=2**40)

    @model_validator(mode="after")
    def _one_face_value(self) -> TierCreate:
        if (self.face_value is None) == (self.face_value_wei is None):
            raise ValueError("give the face value once: face_value or face_value_wei")
        return self


class EventCreate(Model):
    name: str = Field(min_length=1, max_length=100)
    symbol: str = Field(min_length=1, max_length=11, pattern=r"^[A-Za-z0-9]+$")
    venue: str = Field(default="", max_length=200)
    starts_at: datetime
    ends_at: datetime
    tiers: list[TierCreate] = Field(min_length=1, max_length=20)
    organizer_address: Address | None = Field(
        default=None,
        description="The organizer's own wallet: the event's on-chain organizer (proceeds, "
        "royalties, cancellation). Default: the organizer's payout address; with neither, the "
        "bridge's operator account keeps the event for them.",
    )
    gate_address: Address | None = Field(
        default=None, description="The account that publishes gate roots and anchors check-ins"
    )
    chain_currency: str = Field(
        default="ETH",
        pattern=r"^(ETH|eth|0x[0-9a-fA-F]{40})$",
        description="What its tickets are paid in on-chain (face value, resale, refunds): ETH, "
        "or an ERC-20 token's address (6 or 18 decimals, read from the token; a fee-on-transfer "
        "token is refused by the contract at its first payment). Card prices stay in the "
        "bridge's card currency.",
        examples=["ETH"],
    )
    base_uri: str = Field(
        default="",
        max_length=300,
        pattern=r"^((ipfs|https)://\S+/)?$",
        description="Metadata base (ipfs://CID/tiers/): tokenURI is base_uri + the tier index",
    )

    @model_validator(mode="after")
    def _check_times(self) -> EventCreate:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("times need a timezone")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not 0 < self.starts_at.timestamp() < 2**40 or self.ends_at.timestamp() >= 2**40:
            raise ValueError("times out of range")
        doors = int(self.starts_at.timestamp())
        for index, tier in enumerate(self.tiers):
            # as the contract: after doors no ticket may move or change its secret (it could
            # enter, be resold or rotated, and enter again)
            if tier.resale_opens_at > tier.resale_closes_at:
                raise ValueError(f"tier {index}: resale_opens_at is after resale_closes_at")
            if tier.resale_closes_at > doors:
                raise ValueError(
                    f"tier {index}: the resale window must close by starts_at (doors), "
                    "not during the event"
                )
        return self


class ChainCurrencyOut(Model):
    """An event's on-chain currency: ETH (the zero address) or an ERC-20 token."""

    address: str
    symbol: str
    decimals: int


class TierOut(Model):
    id: int
    tier_index: int
    name: str
    price_cents: int
    currency: str = Field(description="The card currency of price_cents")
    face_value: str = Field(description="The on-chain price in the event's chain_currency")
    face_value_wei: str = Field(
        description="The on-chain price in the smallest unit of chain_currency (wei for ETH)"
    )
    supply: int
    remaining: int
    resale_cap_bps: int
    royalty_bps: int


class EventOut(Model):
    id: int
    name: str
    symbol: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    state: EventState
    contract_address: str | None
    chain_currency: ChainCurrencyOut
    tiers: list[TierOut]


class TierSales(Model):
    tier_id: int
    name: str
    supply: int
    reserved: int
    paid: int
    minted: int
    tickets_sold: int
    eth_minted: int
    remaining: int
    revenue_cents: int


class SalesOut(Model):
    event_id: int
    currency: str
    tiers: list[TierSales]


# ---------------------------------------------------------------- orders


class OrderCreate(Model):
    event_id: int = Field(ge=1, le=2**31 - 1)
    tier_id: int = Field(ge=1, le=2**31 - 1)
    quantity: int = Field(ge=1, le=100)
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    wallet: str = Field(
        pattern=r"^(custody|0x[0-9a-fA-F]{40})$",
        description='The fan\'s wallet address, or "custody" when they have none yet',
    )
    commitments: list[Commitment] = Field(min_length=1, max_length=100)

    @field_validator("commitments")
    @classmethod
    def _check_commitments(cls, values: list[str]) -> list[str]:
        numbers = [parse_commitment(v) for v in values]
        if len(set(numbers)) != len(numbers):
            raise ValueError("commitments must be distinct")
        return values

    def commitment_ints(self) -> list[int]:
        return [parse_commitment(v) for v in self.commitments]


class HistoryOut(Model):
    from_state: OrderState | None
    to_state: OrderState
    reason: str
    at: datetime


class TicketOut(Model):
    token_id: int
    holder: str
    custody: bool
    state: str
    commitment: str


class OrderOut(Model):
    id: str
    event_id: int
    tier_id: int
    quantity: int
    state: OrderState
    amount_cents: int
    currency: str
    wallet: str | None
    custody: bool
    expires_at: datetime
    created_at: datetime
    payment_ref: str | None
    failure_code: str | None
    history: list[HistoryOut]
    tickets: list[TicketOut]


class OrderCreated(OrderOut):
    order_token: str = Field(description="Shown once: send it as X-Order-Token to read the order")
    checkout_url: str | None
    client_secret: str | None = None


class OrderSummary(Model):
    id: str
    tier_id: int
    quantity: int
    state: OrderState
    amount_cents: int
    created_at: datetime


class ClaimCreate(Model):
    wallet: Address
    signature: str = Field(
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description="EIP-191 signature of the message from GET /orders/{id}/claim-message",
    )


class ClaimMessage(Model):
    message: str


class ClaimOut(Model):
    order_id: str
    wallet: str
    tickets: list[int]
    state: Literal["pending", "done", "failed"]


# ---------------------------------------------------------------- keys, gate, webhooks


class OrganizerCreate(Model):
    name: str = Field(min_length=1, max_length=200)
    payout_address: Address | None = None


class OrganizerCreated(Model):
    id: int
    name: str
    api_key: str = Field(description="Shown once; only its hash is stored")


GATE_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


class GateKeyCreate(Model):
    gate_name: str | None = Field(
        default=None,
        pattern=GATE_NAME_PATTERN,
        description="The gate this key's device stands at (its check-ins' gate id at the hub; "
        "several devices may share a gate). Default: gate-<key id>, a gate of its own.",
        examples=["north"],
    )


class GateKeyCreated(Model):
    event_id: int
    api_key: str = Field(description="Shown once; only its hash is stored")
    gate_name: str


class GateTicket(Model):
    token_id: int
    tier_index: int
    commitment: str
    state: str


class WebhookAck(Model):
    received: bool
    outcome: str


class Live(Model):
    status: Literal["ok"]


class Health(Model):
    status: Literal["ok"]
    database: str
    provider: str
    # Redis (api.shared): "ok", "off" (not configured) or "down: <reason>" (the bridge runs on
    # per-process limits and no catalog cache until it is back)
    redis: str
