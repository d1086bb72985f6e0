// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferToken: an ERC-20 that burns 1 % of every transfer, for tests only
/// @notice A receiver gets less than was sent, so a contract that credits the amount it asked
/// for would hold less than it owes: TicketEvent refuses such a token (`UnsupportedToken`).
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Fee-on-transfer USD", "FOT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
