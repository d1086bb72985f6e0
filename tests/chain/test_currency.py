"""Amounts of an event's currency as people read and type them (chain.types.Currency)."""

from __future__ import annotations

import pytest

from chain.types import ETH, ZERO_ADDRESS, Currency

USD6 = Currency("0x" + "11" * 20, "FUSD", 6)
DAI18 = Currency("0x" + "22" * 20, "FDAI", 18)


@pytest.mark.parametrize(
    ("currency", "amount", "text"),
    [
        (ETH, 55_000_000_000_000_000, "0.055 ETH"),
        (ETH, 0, "0 ETH"),
        (ETH, 10**18, "1 ETH"),
        (USD6, 12_500_000, "12.5 FUSD"),
        (USD6, 1, "0.000001 FUSD"),
        (USD6, 50 * 10**6, "50 FUSD"),
        (DAI18, 12_500_000, "0.0000000000125 FDAI"),
        (DAI18, 3 * 10**18 + 10**17, "3.1 FDAI"),
    ],
)
def test_format_uses_the_currency_decimals(currency: Currency, amount: int, text: str) -> None:
    assert currency.format(amount) == text
    assert currency.parse(text.split()[0]) == amount


def test_eth_is_the_zero_address() -> None:
    assert ETH.is_eth and ETH.address == ZERO_ADDRESS and ETH.unit == 10**18
    assert not USD6.is_eth and USD6.unit == 10**6


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.0000001", "NaN", "Infinity", "1e-7"])
def test_parse_refuses_what_is_not_an_exact_amount(text: str) -> None:
    with pytest.raises(ValueError, match="is not an amount of FUSD"):
        USD6.parse(text)


def test_parse_takes_exact_decimals() -> None:
    assert USD6.parse(" 0.05 ") == 50_000
    assert USD6.parse("1e2") == 100 * 10**6
    assert ETH.parse("0.000000000000000001") == 1
