"""Response models of the fan routes (:mod:`api.routes.fan`). Amounts in wei and field elements
travel as decimal strings: JavaScript numbers lose precision above 2^53."""

from __future__ import annotations

from pydantic import Field

from api.schemas import ChainCurrencyOut, Model
from api.services.fan import TierView


class TierChainOut(Model):
    index: int
    name: str
    price_cents: int | None
    face_value_wei: str
    supply: int
    minted: int
    remaining: int
    resale_cap_bps: int
    resale_cap_wei: str
    royalty_bps: int
    resale_opens_at: int
    resale_closes_at: int

    @classmethod
    def of(cls, view: TierView) -> TierChainOut:
        return cls(
            index=view.index,
            name=view.name,
            price_cents=view.price_cents,
            face_value_wei=str(view.face_value_wei),
            supply=view.supply,
            minted=view.minted,
            remaining=view.remaining,
            resale_cap_bps=view.resale_cap_bps,
            resale_cap_wei=str(view.resale_cap_wei),
            royalty_bps=view.royalty_bps,
            resale_opens_at=view.resale_opens_at,
            resale_closes_at=view.resale_closes_at,
        )


class ChainEventOut(Model):
    id: int
    name: str
    address: str
    chain_id: int
    cancelled: bool
    scope: str
    window_s: int
    currency: ChainCurrencyOut = Field(
        description="What its prices are in (face values, resale caps, listings): ETH or an "
        "ERC-20 token; amounts are in its smallest unit"
    )
    tiers: list[TierChainOut]


class ListingOut(Model):
    token_id: int
    tier_id: int
    seller: str
    price_wei: str
    reserved_for: str | None


class HeldTicketOut(Model):
    token_id: int
    tier_id: int
    commitment: str
    listing: ListingOut | None
    locked: bool
    resale_open: bool
    paid_in_eth: bool
    refundable: bool = Field(
        description="After a cancellation its holder claims the face value on-chain: bought with "
        "ETH, or a card ticket bought on the market (its held sale price pays it)"
    )


class HolderOut(Model):
    tickets: list[HeldTicketOut]
    used_commitments: list[str]


class GatePathOut(Model):
    token_id: int
    root: str
    leaf: str
    siblings: list[str]
    scope: str
    published_block: int
    holders_changed_since: bool


class CircuitFileOut(Model):
    sha256: str
    bytes: int
    url: str


class GateCircuitOut(Model):
    wasm: CircuitFileOut
    zkey: CircuitFileOut
    vkey: CircuitFileOut
