// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITicketEvent} from "./ITicketEvent.sol";

/// @title Creates one TicketEvent per event as an EIP-1167 minimal proxy
/// @notice The factory has no power over an event once created. The caller administers a new
/// event until the organizer named in the parameters accepts it (`ITicketEvent.acceptOrganizer`;
/// at once when the caller names itself); the platform cannot touch its funds.
interface ITicketFactory {
    /// @notice `eventAt` was asked for an index at or past `eventCount`.
    error NoEventAt(uint256 index, uint256 count);

    /// @notice A new event contract was created; `organizer` is the one named (it administers the
    /// event once it accepts, or at once when it is the creator).
    event EventCreated(address indexed ticketEvent, address indexed organizer, address indexed creator, string name);

    /// @notice Create and initialize an event contract.
    /// @param params The event's configuration (see ITicketEvent.EventParams).
    /// @return ticketEvent The new contract.
    function createEvent(ITicketEvent.EventParams calldata params) external returns (address ticketEvent);

    /// @notice The implementation every event clone delegates to.
    function implementation() external view returns (address);

    /// @notice Number of events created.
    function eventCount() external view returns (uint256);

    /// @notice An event contract by creation index; reverts with `NoEventAt` past the last one.
    function eventAt(uint256 index) external view returns (address);
}
