// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

import {ITicketEvent} from "./interfaces/ITicketEvent.sol";
import {ITicketFactory} from "./interfaces/ITicketFactory.sol";

/// @title TicketFactory: one EIP-1167 clone of TicketEvent per event
/// @notice See ITicketFactory. Creating an event is permissionless, but naming an organizer is
/// not taking its consent: the caller administers the event until the named organizer accepts
/// it (`ITicketEvent.acceptOrganizer`); an event naming its caller is the caller's at once.
contract TicketFactory is ITicketFactory {
    address private immutable _implementation;
    address[] private _events;

    /// @param implementation_ A deployed TicketEvent (its own storage is locked at construction).
    constructor(address implementation_) {
        _implementation = implementation_;
    }

    /// @inheritdoc ITicketFactory
    function createEvent(ITicketEvent.EventParams calldata params) external returns (address ticketEvent) {
        ticketEvent = Clones.clone(_implementation);
        _events.push(ticketEvent);
        emit EventCreated(ticketEvent, params.organizer, msg.sender, params.name);
        ITicketEvent(ticketEvent).initialize(params, msg.sender);
    }

    /// @inheritdoc ITicketFactory
    function implementation() external view returns (address) {
        return _implementation;
    }

    /// @inheritdoc ITicketFactory
    function eventCount() external view returns (uint256) {
        return _events.length;
    }

    /// @inheritdoc ITicketFactory
    function eventAt(uint256 index) external view returns (address) {
        uint256 count = _events.length;
        if (index >= count) revert NoEventAt(index, count);
        return _events[index];
    }
}
