// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Settlement} from "../libraries/Settlement.sol";

/// @title Test only: Settlement's internal functions made callable, in one fixed currency
contract SettlementHarness {
    address private immutable _currency;

    constructor(address currency_) {
        _currency = currency_;
    }

    function collect(uint256 amount) external payable {
        Settlement.collect(_currency, msg.sender, amount);
    }

    function collectWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external payable {
        Settlement.permit(_currency, msg.sender, amount, deadline, v, r, s);
        Settlement.collect(_currency, msg.sender, amount);
    }

    function push(address to, uint256 amount) external returns (bool) {
        return Settlement.push(_currency, to, amount);
    }

    function send(address to, uint256 amount) external {
        Settlement.send(_currency, to, amount);
    }

    function held() external view returns (uint256) {
        return Settlement.balance(_currency);
    }
}
