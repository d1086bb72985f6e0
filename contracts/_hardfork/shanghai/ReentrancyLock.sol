// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The reentrancy lock of the shanghai build (Ganache 7.9.2)
/// @notice One source, two builds: `chain.compiler` remaps `hardfork/` to `contracts/_hardfork/<evm>/`
/// per EVM version (see the cancun twin). Shanghai has no transient storage, so this build keeps the
/// lock where it was before: the ENTERED bit of TicketEventBase's `_flags`, in the slot every money
/// path reads anyway (`TRANSIENT` is false, and the calls below are never reached: the optimizer
/// drops them).
library ReentrancyLock {
    /// @dev TicketEventBase keeps the lock in its `_flags` in this build.
    bool internal constant TRANSIENT = false;

    function locked() internal pure returns (bool) {
        return false;
    }

    function lock() internal pure {}

    function unlock() internal pure {}
}
