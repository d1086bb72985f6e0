// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITicketErrors} from "./ITicketErrors.sol";

/// @title The gate of every Fairgate event: root registry, check-in anchoring, on-chain check-in
/// @notice One contract serves all events of a platform (as Semaphore keeps many groups beside
/// one verifier), each event in its own namespace keyed by the event's address. Who may act for
/// an event is asked of that event (`ITicketEvent.gateAccess`): its organizer and its accounts
/// with the gate role publish roots and check holders in; its organizer sets the verifier. A
/// namespace is only as trustworthy as the contract it is keyed by: readers use the addresses of
/// events created by the platform's factory.
///
/// Roots: the organizer's publisher rebuilds the gate tree from the event's logs and publishes
/// its root. A replaced root stays acceptable for the event's `rootGracePeriod` (proofs made a
/// moment before a publication keep working while only new tickets were added), unless retired
/// or published at or before the last change of holders (`ITicketEvent.holdersChangedAt`: a
/// resale, a gift, a plain transfer, a rotation, a burn). Such a root may hold a seller's old
/// commitment, so it is refused as soon as it is replaced, whoever publishes and whatever they
/// retire. (A root published in the same second as a change counts as before it.)
///
/// Challenges: an on-chain check-in answers the rotating challenge of a time window,
/// `windowChallenge(event, block.timestamp / 20)` or the previous window's, the formula of
/// `zk.identity.window_challenge`; any other challenge is refused (`StaleChallenge`), so a
/// photographed code stops working within 40 seconds.
interface ITicketGate is ITicketErrors {
    /// @notice A new gate root of `ticketEvent` was published; `previous` enters its grace period.
    event RootPublished(address indexed ticketEvent, bytes32 indexed root, bytes32 indexed previous);
    /// @notice A replaced root lost its grace period at once.
    event RootRetired(address indexed ticketEvent, bytes32 indexed root);
    /// @notice Nullifiers used at the gates were anchored on-chain.
    event CheckInsAnchored(address indexed ticketEvent, bytes32[] nullifiers);
    /// @notice A holder entered with a proof verified on-chain.
    event CheckedIn(address indexed ticketEvent, bytes32 indexed nullifier, bytes32 indexed root, uint256 challenge);
    /// @notice The event's on-chain proof verifier changed.
    event VerifierSet(address indexed ticketEvent, address indexed verifier);

    /// @notice Publish the root of the event's gate tree. Organizer or gate of the event.
    function publishRoot(address ticketEvent, bytes32 root) external;

    /// @notice End a replaced root's grace period at once. Organizer or gate of the event.
    function retireRoot(address ticketEvent, bytes32 root) external;

    /// @notice Record nullifiers used at the gates (already recorded ones are kept). Organizer or
    /// gate of the event.
    function anchorCheckIns(address ticketEvent, bytes32[] calldata nullifiers) external;

    /// @notice Set the snarkjs-exported Groth16 verifier for on-chain check-in (zero disables).
    /// Organizer of the event only.
    function setVerifier(address ticketEvent, address verifier) external;

    /// @notice Check a gate proof on-chain without recording it.
    /// @return True when the root is acceptable, the nullifier unused, the challenge that of the
    /// current or previous time window, and the proof valid.
    function verifyCheckIn(
        address ticketEvent,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        bytes32 root,
        bytes32 nullifier,
        uint256 challenge
    ) external view returns (bool);

    /// @notice Verify a gate proof on-chain and spend its nullifier. Gate or organizer of the event.
    /// Reverts UnknownRoot, NullifierUsed, StaleChallenge (not the current or previous window's
    /// challenge), NoVerifier or InvalidProof.
    function checkIn(
        address ticketEvent,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        bytes32 root,
        bytes32 nullifier,
        uint256 challenge
    ) external;

    /// @notice Seconds per rotating-challenge window (20, as `zk.identity.WINDOW_S`).
    function windowSeconds() external pure returns (uint256);

    /// @notice The challenge of time window `window` in the event's scope:
    /// `uint256(keccak256(abi.encodePacked("fairgate/window/v1", scope, uint64(window)))) >> 8`.
    function windowChallenge(address ticketEvent, uint64 window) external view returns (uint256);

    /// @notice The gate scope bound into the event's nullifiers: keccak256(chainid, event) >> 8.
    function gateScope(address ticketEvent) external view returns (uint256);

    /// @notice The latest published gate root of the event.
    function currentRoot(address ticketEvent) external view returns (bytes32);

    /// @notice When a root was published and replaced (0 when still current or never published).
    function rootStatus(address ticketEvent, bytes32 root)
        external
        view
        returns (uint64 publishedAt, uint64 replacedAt);

    /// @notice Whether a root is acceptable now: the current root, or a replaced root within the
    /// event's grace period, not retired, and published after the last change of holders.
    function isAcceptedRoot(address ticketEvent, bytes32 root) external view returns (bool);

    /// @notice Whether a nullifier was recorded on-chain for the event.
    function nullifierUsed(address ticketEvent, bytes32 nullifier) external view returns (bool);

    /// @notice The event's on-chain proof verifier (zero when none).
    function verifier(address ticketEvent) external view returns (address);
}
