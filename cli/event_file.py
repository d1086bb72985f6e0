"""The organizer's event file (TOML), validated with pydantic into plain errors.

The format is :data:`FORMAT` (shown by ``fairgate organizer create --help``; a complete file is
``examples/night-one.toml``).

Why strings for prices are allowed: TOML floats are binary; ``"0.05"`` is exact. Floats are
accepted too and read through their shortest decimal form.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chain.types import ETH, MAX_RESALE_CAP_BPS, MIN_RESALE_CAP_BPS, Currency, TransferPolicy
from fairgate.errors import TicketError

__all__ = ["FORMAT", "EventFile", "EventFileError", "TierSpec", "load_event_file"]

FORMAT = """\
name = "Fairgate Live: Night One"
symbol = "NIGHT1"                        # letters and digits: the event's short name
venue = "Warehouse 9, Rotterdam"
description = "Doors at 20:00."          # optional
start = 2027-06-01T20:00:00+01:00        # TOML date-times with an offset (Z or +01:00)
end = 2027-06-02T02:00:00+01:00
image = "poster.png"                     # the poster, relative to this file
transfer_policy = "market-only"          # optional: or "free", "locked"
currency = "ETH"                         # optional: or an ERC-20 token (its address, or the
                                         # symbol of this dev chain's test stablecoin, FUSD)

[[tiers]]                                # one block per tier: tier 0, 1, ...
name = "General"
price = "0.05"                           # face value in the currency (a string is exact)
card_price = "50.00"                     # optional: price by card through the bridge
supply = 500
resale_cap_pct = 110                     # resale at most 110 % of face value
royalty_pct = 5                          # to the organizer on every resale
resale_opens = 2027-05-01T00:00:00Z      # optional: default now
resale_closes = 2027-06-01T18:00:00Z     # optional: default the start
"""

MAX_FACE_VALUE = 2**96 - 1
POLICIES = {
    "market-only": TransferPolicy.MARKET_ONLY,
    "free": TransferPolicy.FREE,
    "locked": TransferPolicy.LOCKED,
}


class EventFileError(TicketError, ValueError):
    """The event file is missing or malformed."""

    code = "event_file_error"


def _bps(value: Decimal, what: str, limit: int, floor: int = 0) -> int:
    bps = value * 100
    if bps != bps.to_integral_value() or not floor <= bps <= limit:
        raise ValueError(
            f"{what} must be between {floor / 100:g} and {limit / 100:g} with at most 2 decimals"
        )
    return int(bps)


class TierSpec(BaseModel):
    """One tier of the event file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    price: Decimal = Field(description="face value in the event's currency")
    card_price: Decimal | None = Field(
        default=None, description="price by card through the bridge, in its currency (50.00)"
    )
    supply: int = Field(ge=1, le=2**24 - 1)
    resale_cap_pct: Decimal = Decimal(100)
    royalty_pct: Decimal = Decimal(0)
    resale_opens: datetime | None = None
    resale_closes: datetime | None = None
    description: str = ""

    @field_validator("price", "card_price", "resale_cap_pct", "royalty_pct", mode="before")
    @classmethod
    def _decimal(cls, value: object) -> Decimal:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None

    @field_validator("price")
    @classmethod
    def _price(cls, value: Decimal) -> Decimal:
        wei = value * 10**18
        if not value.is_finite() or value < 0 or wei != wei.to_integral_value():
            raise ValueError("price must be a non-negative amount (at most 18 decimals)")
        return value

    @field_validator("card_price")
    @classmethod
    def _card_price(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        cents = value * 100
        if not value.is_finite() or value < 0 or cents != cents.to_integral_value():
            raise ValueError("card_price must be a non-negative amount with at most 2 decimals")
        if cents > 100_000_000:
            raise ValueError("card_price is too large (at most 1,000,000.00)")
        return value

    @property
    def price_cents(self) -> int | None:
        return None if self.card_price is None else int(self.card_price * 100)

    @property
    def face_value_wei(self) -> int:
        return self.face_value(ETH)

    def face_value(self, currency: Currency) -> int:
        """The price in the smallest unit of the event's currency; EventFileError when it has
        more decimals than the currency or exceeds the contract's 96 bits."""
        try:
            units = currency.parse(str(self.price))
        except ValueError:
            raise EventFileError(
                f"tier {self.name}: price {self.price} has more decimals than "
                f"{currency.symbol} ({currency.decimals})"
            ) from None
        if units > MAX_FACE_VALUE:
            raise EventFileError(f"tier {self.name}: price {self.price} is too large")
        return units

    @property
    def resale_cap_bps(self) -> int:
        return _bps(
            self.resale_cap_pct, "resale_cap_pct", MAX_RESALE_CAP_BPS, floor=MIN_RESALE_CAP_BPS
        )

    @property
    def royalty_bps(self) -> int:
        return _bps(self.royalty_pct, "royalty_pct", 10_000)

    @model_validator(mode="after")
    def _check(self) -> TierSpec:
        _ = self.resale_cap_bps, self.royalty_bps  # raise ValueError early
        for when in (self.resale_opens, self.resale_closes):
            if when is not None and when.tzinfo is None:
                raise ValueError("resale times need a timezone offset (e.g. Z or +01:00)")
        if self.resale_opens and self.resale_closes and self.resale_closes < self.resale_opens:
            raise ValueError("resale_closes is before resale_opens")
        return self


class EventFile(BaseModel):
    """The whole event file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    symbol: str = Field(min_length=1, max_length=11, pattern=r"^[A-Za-z0-9]+$")
    venue: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    start: datetime
    end: datetime
    image: Path
    external_url: str | None = None
    transfer_policy: Literal["market-only", "free", "locked"] = "market-only"
    currency: str = Field(default="ETH", min_length=1, max_length=42)
    tiers: list[TierSpec] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _times(self) -> EventFile:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a timezone offset (e.g. Z or +01:00)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        for index, tier in enumerate(self.tiers, 1):
            # as the contract: after doors no ticket may move or change its secret (it could
            # enter, be resold or rotated, and enter again)
            if tier.resale_closes is not None and tier.resale_closes > self.start:
                raise ValueError(
                    f"tier {index} ({tier.name}): resale_closes is after start; the resale "
                    "window must close by the doors"
                )
            if tier.resale_opens is not None and tier.resale_opens > self.start:
                raise ValueError(f"tier {index} ({tier.name}): resale_opens is after start")
        return self

    @property
    def policy(self) -> TransferPolicy:
        return POLICIES[self.transfer_policy]


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_event_file(path: Path) -> EventFile:
    """Read and validate an event file; EventFileError with a plain message otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EventFileError(f"event file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EventFileError(f"cannot read event file {path}: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EventFileError(f"event file {path} is not valid TOML: {exc}") from None
    problems: list[str] = []
    spec: EventFile | None = None
    try:
        spec = EventFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            where = _where(tuple(error["loc"]))
            message = _MESSAGES.get(str(error["type"]), str(error["msg"]))
            message = message.removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
    image = data.get("image") if isinstance(data, dict) else None
    if isinstance(image, str) and image:
        image_path = Path(image) if Path(image).is_absolute() else path.parent / image
        if not image_path.is_file():
            problems.append(f"image: {image_path} not found (the poster, relative to this file)")
    if problems:
        raise EventFileError(_report(path, problems))
    assert spec is not None
    if not spec.image.is_absolute():
        spec = spec.model_copy(update={"image": (path.parent / spec.image)})
    return spec


_MESSAGES = {
    "missing": "missing (required)",
    "extra_forbidden": "Extra inputs are not permitted (unknown key: see the format in "
    "`fairgate organizer create --help`)",
}


def _report(path: Path, problems: list[str]) -> str:
    """Every problem of the file, one per line (a first guess should not need five runs)."""
    if len(problems) == 1:
        return f"event file {path}: {problems[0]}"
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"event file {path} has {len(problems)} problems:\n{lines}"
