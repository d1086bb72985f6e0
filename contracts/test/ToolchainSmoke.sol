// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @notice Test-only fixture proving that brownie compiles with our solc and deploys on Ganache
///         (tests/contracts/test_toolchain_smoke.py). It uses PUSH0 (shanghai) on purpose.
contract ToolchainSmoke {
    error TooBig(uint256 value);

    event Stored(address indexed by, uint256 value);

    uint256 public value;

    function store(uint256 newValue) external {
        if (newValue > 1_000_000) revert TooBig(newValue);
        value = newValue;
        emit Stored(msg.sender, newValue);
    }
}
