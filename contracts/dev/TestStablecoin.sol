// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title TestStablecoin: a dollar-like settlement token for development chains and the demo
/// @notice An ERC-20 with EIP-2612 `permit` (so a fan buys a ticket in one transaction) and the
/// decimals of the stablecoin it stands in for (6, like USDC and USDT; 18, like DAI). Anyone can
/// mint any amount (`mint`, the dev stack's faucet): it is worth nothing and must never be an
/// event's currency on a real network. `fairgate dev up` and `scripts/demo.py` deploy it.
contract TestStablecoin is ERC20, ERC20Permit {
    uint8 private immutable _decimals;

    /// @param name_ ERC-20 name, also the EIP-712 domain name of `permit`.
    /// @param symbol_ ERC-20 symbol.
    /// @param decimals_ Decimals of an amount (6 for a USDC-like token).
    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        _decimals = decimals_;
    }

    /// @notice Mint `amount` (in the token's smallest unit) to `to`: the development faucet.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
