// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Pure price-cap and payout arithmetic of the resale market
/// @notice Kept apart so its properties are tested alone: for every price and rates,
/// royalty + proceeds == price, royalty <= price, and a price is allowed iff price <= cap.
library ResaleMath {
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;
    /// @notice Lowest resale cap of a tier: face value (a ticket can always be resold at face).
    uint256 internal constant MIN_CAP_BPS = 10_000;
    /// @notice Highest resale cap of a tier: twice face value.
    uint256 internal constant MAX_CAP_BPS = 20_000;

    /// @notice The highest resale price of a ticket with `faceValue` and a cap of `capBps`.
    /// @dev Defined for a Tier's fields, a 96-bit face value and 16-bit basis points (every caller
    /// passes them): the product fits in 112 bits, so no overflow check is paid for on each sale.
    function cap(uint256 faceValue, uint256 capBps) internal pure returns (uint256) {
        unchecked {
            return (faceValue * capBps) / BPS;
        }
    }

    /// @notice Split a sale price into the organizer's royalty and the seller's proceeds.
    /// @dev Rounds the royalty down, so the seller never gets less than its exact share.
    function split(uint256 price, uint256 royaltyBps) internal pure returns (uint256 royalty, uint256 proceeds) {
        royalty = (price * royaltyBps) / BPS;
        proceeds = price - royalty;
    }

    /// @notice `split` without overflow checks, defined for a price below 2**128 and a rate of at
    /// most BPS: every price the market accepts (at most a cap, below 2**97) and a tier's royalty
    /// (at most BPS, checked when the tier is stored), the only values the market passes. There
    /// nothing can overflow, and a sale pays for no check.
    function splitBounded(uint256 price, uint256 royaltyBps) internal pure returns (uint256 royalty, uint256 proceeds) {
        unchecked {
            royalty = (price * royaltyBps) / BPS;
            proceeds = price - royalty;
        }
    }

}
