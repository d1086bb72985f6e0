// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title Test only: a plain OpenZeppelin 5.4 ERC721 with a mint loop, the gas baseline
/// @notice scripts/bench_gas.py measures it in the same run as TicketEvent, so every figure has a
/// reference point: batch mint vs `_mint` in a loop, resale vs a plain transfer plus payment.
contract BaselineERC721 is ERC721 {
    uint256 private _next;

    constructor() ERC721("Baseline", "BASE") {}

    /// @notice Mint `count` tokens to `to`, one `_mint` each.
    function mintBatch(address to, uint256 count) external {
        uint256 next = _next;
        for (uint256 i; i < count; ++i) {
            _mint(to, next + i);
        }
        _next = next + count;
    }

    /// @notice Mint one token to each holder.
    function mintEach(address[] calldata holders) external {
        uint256 next = _next;
        for (uint256 i; i < holders.length; ++i) {
            _mint(holders[i], next + i);
        }
        _next = next + holders.length;
    }

    /// @notice The nearest thing to a resale: the buyer pays, the token moves, the seller is paid.
    /// (The seller must have approved this contract's caller flow with setApprovalForAll.)
    function buyFrom(address seller, uint256 tokenId) external payable {
        _transfer(seller, msg.sender, tokenId);
        (bool ok,) = payable(seller).call{value: msg.value}("");
        require(ok, "payment");
    }
}
