// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITicketEventAdmin} from "./interfaces/ITicketEvent.sol";
import {TicketEventBase} from "./TicketEventBase.sol";

/// @title TicketEventAdmin: the organizer's, bridge's and settlement's operations of an event
/// @notice See ITicketEventAdmin. Never called at its own address: every event's TicketEvent
/// forwards these functions to it with a delegatecall, so they run on the event's storage (the
/// layout of TicketEventBase, which both inherit). Its own storage is locked at construction.
contract TicketEventAdmin is TicketEventBase, ITicketEventAdmin {
    /// @inheritdoc ITicketEventAdmin
    function initialize(EventParams calldata params, address creator) external {
        _initialize(params, creator);
    }

    /// @inheritdoc ITicketEventAdmin
    function addTier(Tier calldata t) external returns (uint256) {
        return _addTier(t);
    }

    /// @inheritdoc ITicketEventAdmin
    function setResaleWindow(uint256 tierId, uint40 opensAt, uint40 closesAt) external {
        _setResaleWindow(tierId, opensAt, closesAt);
    }

    /// @inheritdoc ITicketEventAdmin
    function setRoles(address account, uint256 roles) external {
        _setRoles(account, roles);
    }

    /// @inheritdoc ITicketEventAdmin
    function proposeOrganizer(address newOrganizer) external {
        _proposeOrganizer(newOrganizer);
    }

    /// @inheritdoc ITicketEventAdmin
    function acceptOrganizer() external {
        _acceptOrganizer();
    }

    /// @inheritdoc ITicketEventAdmin
    function setBaseURI(string calldata baseURI) external {
        _setBaseURI(baseURI);
    }

    /// @inheritdoc ITicketEventAdmin
    function cancel() external {
        _cancel();
    }

    /// @inheritdoc ITicketEventAdmin
    function withdrawProceeds(address payable to) external {
        _withdrawProceeds(to);
    }

    /// @inheritdoc ITicketEventAdmin
    function releaseFromCustody(uint256 tokenId, address to) external {
        _releaseFromCustody(tokenId, to);
    }

    /// @inheritdoc ITicketEventAdmin
    function revoke(uint256[] calldata tokenIds) external {
        _revoke(tokenIds);
    }

    /// @inheritdoc ITicketEventAdmin
    function cancelAllOrders() external {
        _cancelAllOrders();
    }

    /// @inheritdoc ITicketEventAdmin
    function rotateCommitment(uint256 tokenId, bytes32 commitment) external {
        _rotateCommitment(tokenId, commitment);
    }

    /// @inheritdoc ITicketEventAdmin
    function withdrawPending() external {
        _withdrawPending();
    }

    /// @inheritdoc ITicketEventAdmin
    function fundGiftRefunds(uint256[] calldata tokenIds) external payable {
        _fundGiftRefunds(tokenIds);
    }

    /// @inheritdoc ITicketEventAdmin
    function settleHeld(uint256[] calldata tokenIds) external {
        _settleHeld(tokenIds);
    }
}
