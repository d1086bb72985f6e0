// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ERC-5192: minimal soulbound interface
/// @notice Fairgate tickets are locked outside their tier's resale window and under the Locked
/// transfer policy. `Locked`/`Unlocked` are emitted when a ticket's lock changes by a transaction
/// that touches it (minted locked); a window opening or closing with time is announced once per
/// tier by `ResaleWindowSet`, since no transaction runs at that instant.
interface IERC5192 {
    /// @notice The ticket became locked.
    event Locked(uint256 tokenId);
    /// @notice The ticket became unlocked.
    event Unlocked(uint256 tokenId);

    /// @notice Whether the ticket cannot be transferred now.
    function locked(uint256 tokenId) external view returns (bool);
}
