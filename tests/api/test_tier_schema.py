"""The bridge refuses a tier the contract would refuse, before anything is deployed (issue 9,
item 4): a resale cap outside face value .. twice face value."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.schemas import TierCreate

TIER = {"name": "General", "price_cents": 5_000, "face_value_wei": 10**17, "supply": 10}


@pytest.mark.parametrize("cap_bps", [10_000, 11_000, 20_000])
def test_a_resale_cap_from_face_to_twice_face_is_accepted(cap_bps: int) -> None:
    assert TierCreate(**TIER, resale_cap_bps=cap_bps).resale_cap_bps == cap_bps


@pytest.mark.parametrize("cap_bps", [0, 9_999, 20_001, 65_535])
def test_a_resale_cap_below_face_or_above_twice_face_is_refused(cap_bps: int) -> None:
    with pytest.raises(ValidationError, match="resale_cap_bps"):
        TierCreate(**TIER, resale_cap_bps=cap_bps)
