// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The reentrancy lock of the cancun build (Anvil)
/// @notice One source, two builds: `chain.compiler` remaps `hardfork/` to `contracts/_hardfork/<evm>/`
/// per EVM version, so TicketEventBase gets this file when compiled for cancun and the shanghai one
/// (no transient storage there) for Ganache 7.9.2. Folders starting with `_` are compiled only
/// through that import (brownie skips them, and so does our compiler's source list).
/// @dev The lock is a transient storage word (EIP-1153): TLOAD/TSTORE cost 100 gas each and
/// transient storage is cleared after every transaction, so taking and releasing the lock costs
/// the same whatever the rest of the transaction writes, and earns no refund that EIP-3529's cap
/// could cut.
library ReentrancyLock {
    /// @dev TicketEventBase keeps the lock here, not in its `_flags` (see the shanghai twin).
    bool internal constant TRANSIENT = true;

    /// @dev keccak256("fairgate.TicketEvent.reentrancy") - 1: per contract address, so a clone's
    /// lock is its own, shared with the TicketEventAdmin code it runs by delegatecall.
    bytes32 private constant SLOT = 0x9153b34a5dbd0a8b6e51d00a3c2ad4763a55edf538b7fde15e00408cbf09e946;

    function locked() internal view returns (bool held) {
        assembly ("memory-safe") {
            held := tload(SLOT)
        }
    }

    function lock() internal {
        assembly ("memory-safe") {
            tstore(SLOT, 1)
        }
    }

    function unlock() internal {
        assembly ("memory-safe") {
            tstore(SLOT, 0)
        }
    }
}
