// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Test only: what a node (Ganache, Anvil) spends on the primitives a minted order is made of
/// @notice scripts/bench_orders.py times each function (the node's CPU time) in the same run as the
/// minting benchmark, to show the floor the chain puts under one order: an ERC-721 mint to a new
/// holder needs two fresh storage slots (the owner record and the balance) and its logs.
contract ChainProbe {
    mapping(uint256 key => uint256) private _slots;
    uint256 private _used;

    /// @notice Emitted by `logs`, shaped like an ERC-721 Transfer (three indexed topics).
    event Probe(address indexed from, address indexed to, uint256 indexed id);

    /// @notice Write `n` fresh storage slots.
    function freshSlots(uint256 n) external {
        uint256 used = _used;
        for (uint256 i; i < n; ++i) {
            _slots[used + i] = i + 1;
        }
        _used = used + n;
    }

    /// @notice Emit `n` logs.
    function logs(uint256 n) external {
        for (uint256 i; i < n; ++i) {
            emit Probe(address(0), msg.sender, i);
        }
    }

    /// @notice Do nothing: the cost of a transaction itself.
    function nothing() external {}
}
