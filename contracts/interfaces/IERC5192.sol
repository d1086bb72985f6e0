// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ERC-5192: minimal soulbound interface
/// @notice `locked(id)` is true exactly when a plain `transferFrom` by the holder would revert:
/// always under the MarketOnly policy (only the capped market moves tickets) and the Locked policy
/// (soulbound), and under Free outside the tier's resale window. Events: `Locked` is emitted for
/// every ticket minted under the Locked policy (locked for good). Under MarketOnly no event is
/// emitted: a ticket is locked from mint to burn, and a Locked log per minted ticket would cost
/// more than the batch mint's budget. Under Free the lock follows the resale window in time; no
/// transaction runs at the instant a window opens or closes, so the change is announced once per
/// tier by `ResaleWindowSet` instead of per ticket.
interface IERC5192 {
    /// @notice The ticket became locked.
    event Locked(uint256 tokenId);
    /// @notice The ticket became unlocked.
    event Unlocked(uint256 tokenId);

    /// @notice Whether a plain transfer of the ticket would revert now.
    function locked(uint256 tokenId) external view returns (bool);
}
