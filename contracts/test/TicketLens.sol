// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITicketEvent} from "../interfaces/ITicketEvent.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

interface ITicketOwnership {
    function ownerOf(uint256 tokenId) external view returns (address);
    function balanceOf(address owner) external view returns (uint256);
}

/// @title Test only: reads many tickets' state in one call, so property tests check every
/// invariant after every step without hundreds of RPC round trips.
contract TicketLens {
    /// @notice Owners of tickets 0..count-1; zero for a ticket whose ownerOf reverts (burned).
    function owners(address ticket, uint256 count) external view returns (address[] memory result) {
        result = new address[](count);
        for (uint256 i; i < count; ++i) {
            try ITicketOwnership(ticket).ownerOf(i) returns (address owner) {
                result[i] = owner;
            } catch {}
        }
    }

    /// @notice Everything the stateful test compares with its model after a step, in one call:
    /// owners of tickets 0..count-1, balanceOf and pendingOf of each account, minted count of
    /// tiers 0..tiers-1, and the contract's escrow, royalty balance, balance in its currency (ETH or
    /// its token) and next id.
    function summary(address ticket, address[] calldata accounts, uint256 count, uint256 tiers)
        external
        view
        returns (
            address[] memory owners_,
            uint256[] memory balances,
            uint256[] memory pending,
            uint256[] memory minted,
            uint256[4] memory money
        )
    {
        owners_ = this.owners(ticket, count);
        (balances, pending) = this.holdings(ticket, accounts);
        minted = new uint256[](tiers);
        for (uint256 i; i < tiers; ++i) {
            minted[i] = ITicketEvent(ticket).tier(i).minted;
        }
        address currency = ITicketEvent(ticket).currency();
        money = [
            ITicketEvent(ticket).escrowBalance(),
            ITicketEvent(ticket).royaltyBalance(),
            currency == address(0) ? ticket.balance : IERC20(currency).balanceOf(ticket),
            ITicketEvent(ticket).nextTokenId()
        ];
    }

    /// @notice balanceOf and pendingOf of each account.
    function holdings(address ticket, address[] calldata accounts)
        external
        view
        returns (uint256[] memory balances, uint256[] memory pending)
    {
        balances = new uint256[](accounts.length);
        pending = new uint256[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            balances[i] = ITicketOwnership(ticket).balanceOf(accounts[i]);
            pending[i] = ITicketEvent(ticket).pendingOf(accounts[i]);
        }
    }
}
