// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITicketEvent} from "./interfaces/ITicketEvent.sol";
import {ITicketGate} from "./interfaces/ITicketGate.sol";
import {IGroth16Verifier} from "./interfaces/IGroth16Verifier.sol";

/// @title TicketGate: gate roots, check-in anchoring and on-chain check-in of every event
/// @notice See ITicketGate. One instance per platform; every TicketEvent implementation names it
/// (`ITicketEvent.ticketGate`), so each event clone finds its gate without storing anything.
/// @dev Kept apart from TicketEvent so that the ticket contract keeps room to grow (24,576 bytes
/// of runtime code at most). Nothing here is on a fan's paid path: roles and the grace period are
/// asked of the event with a static call, costing ~3,000 gas per publication.
contract TicketGate is ITicketGate {
    /// @dev BN254 scalar field: roots and nullifiers are elements of it.
    uint256 private constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev Seconds per rotating-challenge window: `zk.identity.WINDOW_S`, the browser's too.
    uint256 private constant WINDOW_S = 20;

    struct RootInfo {
        uint64 publishedAt;
        uint64 replacedAt;
        bool retired;
    }

    mapping(address ticketEvent => mapping(bytes32 root => RootInfo)) private _roots;
    mapping(address ticketEvent => bytes32) private _currentRoot;
    mapping(address ticketEvent => mapping(bytes32 nullifier => bool)) private _usedNullifiers;
    mapping(address ticketEvent => address) private _verifiers;

    /// @inheritdoc ITicketGate
    function publishRoot(address ticketEvent, bytes32 root) external {
        _onlyGate(ticketEvent);
        if (root == bytes32(0) || uint256(root) >= FIELD) revert InvalidParameter("root");
        bytes32 previous = _currentRoot[ticketEvent];
        if (root == previous) return;
        uint64 now_ = uint64(block.timestamp);
        _roots[ticketEvent][root] = RootInfo(now_, 0, false);
        if (previous != bytes32(0)) _roots[ticketEvent][previous].replacedAt = now_;
        _currentRoot[ticketEvent] = root;
        emit RootPublished(ticketEvent, root, previous);
    }

    /// @inheritdoc ITicketGate
    function retireRoot(address ticketEvent, bytes32 root) external {
        _onlyGate(ticketEvent);
        RootInfo storage info = _roots[ticketEvent][root];
        if (info.publishedAt == 0 || root == _currentRoot[ticketEvent]) revert UnknownRoot(root);
        if (info.retired) return;
        info.retired = true;
        emit RootRetired(ticketEvent, root);
    }

    /// @inheritdoc ITicketGate
    function anchorCheckIns(address ticketEvent, bytes32[] calldata nullifiers) external {
        _onlyGate(ticketEvent);
        mapping(bytes32 => bool) storage used = _usedNullifiers[ticketEvent];
        for (uint256 i; i < nullifiers.length; ++i) {
            used[nullifiers[i]] = true;
        }
        emit CheckInsAnchored(ticketEvent, nullifiers);
    }

    /// @inheritdoc ITicketGate
    function setVerifier(address ticketEvent, address newVerifier) external {
        if (msg.sender != ITicketEvent(ticketEvent).organizer()) revert MissingRole(msg.sender, 0);
        _verifiers[ticketEvent] = newVerifier;
        emit VerifierSet(ticketEvent, newVerifier);
    }

    /// @inheritdoc ITicketGate
    function verifyCheckIn(
        address ticketEvent,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        bytes32 root,
        bytes32 nullifier,
        uint256 challenge
    ) public view returns (bool) {
        address v = _verifiers[ticketEvent];
        if (v == address(0)) revert NoVerifier();
        if (!isAcceptedRoot(ticketEvent, root) || _usedNullifiers[ticketEvent][nullifier]) return false;
        if (!_freshChallenge(ticketEvent, challenge)) return false;
        uint256[4] memory signals = [uint256(nullifier), uint256(root), gateScope(ticketEvent), challenge];
        return IGroth16Verifier(v).verifyProof(a, b, c, signals);
    }

    /// @inheritdoc ITicketGate
    function checkIn(
        address ticketEvent,
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        bytes32 root,
        bytes32 nullifier,
        uint256 challenge
    ) external {
        _onlyGate(ticketEvent);
        if (!isAcceptedRoot(ticketEvent, root)) revert UnknownRoot(root);
        if (_usedNullifiers[ticketEvent][nullifier]) revert NullifierUsed(nullifier);
        if (!_freshChallenge(ticketEvent, challenge)) revert StaleChallenge(challenge);
        if (!verifyCheckIn(ticketEvent, a, b, c, root, nullifier, challenge)) revert InvalidProof();
        _usedNullifiers[ticketEvent][nullifier] = true;
        emit CheckedIn(ticketEvent, nullifier, root, challenge);
    }

    // ================================================================ views

    /// @inheritdoc ITicketGate
    function windowSeconds() external pure returns (uint256) {
        return WINDOW_S;
    }

    /// @inheritdoc ITicketGate
    function windowChallenge(address ticketEvent, uint64 window) public view returns (uint256) {
        return uint256(keccak256(abi.encodePacked("fairgate/window/v1", gateScope(ticketEvent), window))) >> 8;
    }

    /// @inheritdoc ITicketGate
    function gateScope(address ticketEvent) public view returns (uint256) {
        return uint256(keccak256(abi.encodePacked(block.chainid, ticketEvent))) >> 8;
    }

    /// @inheritdoc ITicketGate
    function currentRoot(address ticketEvent) external view returns (bytes32) {
        return _currentRoot[ticketEvent];
    }

    /// @inheritdoc ITicketGate
    function rootStatus(address ticketEvent, bytes32 root) external view returns (uint64, uint64) {
        RootInfo memory info = _roots[ticketEvent][root];
        return (info.publishedAt, info.replacedAt);
    }

    /// @inheritdoc ITicketGate
    function isAcceptedRoot(address ticketEvent, bytes32 root) public view returns (bool) {
        RootInfo memory info = _roots[ticketEvent][root];
        if (info.publishedAt == 0 || info.retired) return false;
        if (info.replacedAt == 0) return true;
        ITicketEvent e = ITicketEvent(ticketEvent);
        // A replaced root published at or before the last change of holders may hold a seller's
        // (or a revoked ticket's) commitment: no grace for it.
        if (info.publishedAt <= e.holdersChangedAt()) return false;
        return block.timestamp <= uint256(info.replacedAt) + e.rootGracePeriod();
    }

    /// @inheritdoc ITicketGate
    function nullifierUsed(address ticketEvent, bytes32 nullifier) external view returns (bool) {
        return _usedNullifiers[ticketEvent][nullifier];
    }

    /// @inheritdoc ITicketGate
    function verifier(address ticketEvent) external view returns (address) {
        return _verifiers[ticketEvent];
    }

    // ================================================================ internals

    /// @dev The challenge of the current time window or of the previous one (a code shown at the
    /// turn of a window still enters; a photographed code stops within two windows).
    function _freshChallenge(address ticketEvent, uint256 challenge) private view returns (bool) {
        uint64 window = uint64(block.timestamp / WINDOW_S);
        return challenge == windowChallenge(ticketEvent, window)
            || (window > 0 && challenge == windowChallenge(ticketEvent, window - 1));
    }

    /// @dev The event's organizer and its gate accounts act for it here.
    function _onlyGate(address ticketEvent) private view {
        if (!ITicketEvent(ticketEvent).isGateOperator(msg.sender)) revert MissingRole(msg.sender, 2);
    }
}
