"""Property tests of ResaleMath through contracts/test/ResaleMathHarness.sol, against the Python
model in helpers: royalty + proceeds == price, royalty <= price, and a price is allowed iff it is
at most the cap. Inputs span the Tier field widths (uint96 values, uint16 basis points).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import BPS, model_cap, model_split

UINT96 = st.integers(min_value=0, max_value=2**96 - 1)
ROYALTY_BPS = st.integers(min_value=0, max_value=BPS)
CAP_BPS = st.integers(min_value=0, max_value=2**16 - 1)
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def harness(ResaleMathHarness, deployer):
    return ResaleMathHarness.deploy({"from": deployer})


@EXAMPLES
@given(price=UINT96, royalty_bps=ROYALTY_BPS)
def test_fuzz_split_sums_to_price(harness, price, royalty_bps):
    royalty, proceeds = harness.split(price, royalty_bps)
    assert royalty + proceeds == price
    assert royalty <= price
    assert (royalty, proceeds) == model_split(price, royalty_bps)
    # the market's unchecked split agrees wherever it is defined (a price below 2**128)
    assert tuple(harness.splitBounded(price, royalty_bps)) == (royalty, proceeds)


@EXAMPLES
@given(face=UINT96, cap_bps=CAP_BPS, price=UINT96)
def test_fuzz_price_allowed_iff_at_most_cap(harness, face, cap_bps, price):
    cap = harness.cap(face, cap_bps)
    assert cap == model_cap(face, cap_bps)
    assert harness.allowed(price, face, cap_bps) is (price <= cap)
    assert harness.allowed(cap, face, cap_bps)


@pytest.mark.parametrize(
    "price, royalty_bps, expected",
    [(0, 500, (0, 0)), (19, 500, (0, 19)), (20, 500, (1, 19)), (7, BPS, (7, 0)), (7, 0, (0, 7))],
)
def test_split_edges(harness, price, royalty_bps, expected):
    assert tuple(harness.split(price, royalty_bps)) == expected


def test_cap_edges(harness):
    assert harness.cap(10**17, 11_000) == 11 * 10**16
    assert harness.cap(10**17, 0) == 0
    assert harness.cap(3, 3_333) == 0  # rounds down: the cap never exceeds its share
    assert harness.cap(2**96 - 1, 2**16 - 1) == (2**96 - 1) * (2**16 - 1) // BPS


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(price=st.integers(min_value=0, max_value=2**200), royalty_bps=ROYALTY_BPS)
def test_fuzz_model_split_properties(price, royalty_bps):
    # The model alone, over a wider range than the chain is asked (pure Python, fast).
    royalty, proceeds = model_split(price, royalty_bps)
    assert royalty + proceeds == price
    assert 0 <= royalty <= price
    assert proceeds * BPS >= price * (BPS - royalty_bps)  # the seller never gets less
