// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ResaleMath} from "../libraries/ResaleMath.sol";

/// @title Test only: ResaleMath's internal functions made callable for property tests
contract ResaleMathHarness {
    /// @notice ResaleMath.cap.
    function cap(uint256 faceValue, uint256 capBps) external pure returns (uint256) {
        return ResaleMath.cap(faceValue, capBps);
    }

    /// @notice ResaleMath.split.
    function split(uint256 price, uint256 royaltyBps) external pure returns (uint256 royalty, uint256 proceeds) {
        return ResaleMath.split(price, royaltyBps);
    }

    /// @notice ResaleMath.splitBounded.
    function splitBounded(uint256 price, uint256 royaltyBps) external pure returns (uint256 royalty, uint256 proceeds) {
        return ResaleMath.splitBounded(price, royaltyBps);
    }

    /// @notice Whether the market would accept `price` for a tier of `faceValue` and `capBps`.
    function allowed(uint256 price, uint256 faceValue, uint256 capBps) external pure returns (bool) {
        return price <= ResaleMath.cap(faceValue, capBps);
    }
}
