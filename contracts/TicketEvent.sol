// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {ITicketEvent, ITicketEventAdmin} from "./interfaces/ITicketEvent.sol";
import {IERC5192} from "./interfaces/IERC5192.sol";
import {TicketEventBase} from "./TicketEventBase.sol";
import {Settlement} from "./libraries/Settlement.sol";

/// @title TicketEvent: one event's tickets, deployed as a minimal-proxy clone by TicketFactory
/// @notice See ITicketEvent for the behaviour of every function. This implementation serves the
/// ticket (ERC-721, ERC-2981, ERC-5192), the primary sale, the resale market and refunds directly;
/// the organizer's, bridge's and settlement operations (ITicketEventAdmin) it forwards with a
/// delegatecall to TicketEventAdmin, which runs on this same storage (see TicketEventBase).
/// @dev The split keeps both under the code-size limit with room to grow; what fans pay gas for
/// never takes the second hop (about 2,700 gas: a cold account and a delegatecall).
contract TicketEvent is TicketEventBase, ITicketEvent, IERC721Metadata, IERC2981, IERC5192, EIP712 {
    /// @dev The platform's TicketGate: in the implementation's code, so every clone shares it.
    address private immutable _ticketGate;
    /// @dev TicketEventAdmin: serves ITicketEventAdmin on this storage (see `_delegateToAdmin`).
    address private immutable _admin;

    /// @param ticketGate_ The gate contract of the platform (roots, anchoring, on-chain check-in).
    /// @param admin_ The TicketEventAdmin implementation.
    constructor(address ticketGate_, address admin_) EIP712(EIP712_NAME, EIP712_VERSION) {
        _ticketGate = ticketGate_;
        _admin = admin_;
    }

    // ================================================================ primary sale, market, refunds, ERC-721

    /// @inheritdoc ITicketEvent
    function mintBatch(uint256 tierId, MintRun[] calldata runs) external returns (uint256 firstTokenId) {
        return _mintBatch(tierId, runs);
    }

    /// @inheritdoc ITicketEvent
    function purchase(uint256 tierId, bytes32[] calldata commitments) external payable returns (uint256 firstTokenId) {
        return _purchase(tierId, commitments);
    }

    /// @inheritdoc ITicketEvent
    function list(uint256 tokenId, uint256 price, address reservedFor) external {
        _list(tokenId, price, reservedFor);
    }

    /// @inheritdoc ITicketEvent
    function cancelListing(uint256 tokenId) external {
        _cancelListing(tokenId);
    }

    /// @inheritdoc ITicketEvent
    function buy(uint256 tokenId, bytes32 commitment) external payable {
        _buy(tokenId, commitment);
    }

    /// @inheritdoc ITicketEvent
    function buyWithOrder(OrderTerms calldata terms, bytes32 r, bytes32 vs, bytes32 commitment) external payable {
        _buyWithOrder(terms, r, vs, commitment);
    }

    /// @inheritdoc ITicketEvent
    function permitAndCall(Permit calldata permit, bytes calldata data) external returns (bytes memory result) {
        Settlement.permit(_currencyOf(), msg.sender, permit.value, permit.deadline, permit.v, permit.r, permit.s);
        // the call runs as if the caller had made it (same sender, no value): a delegatecall to
        // this event's own address; its revert is this function's
        bool ok;
        (ok, result) = address(this).delegatecall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    /// @inheritdoc ITicketEvent
    function claimRefund(uint256[] calldata tokenIds, address to) external {
        _claimRefund(tokenIds, to);
    }

    /// @inheritdoc IERC721
    function balanceOf(address owner) external view returns (uint256) {
        return _balanceOf(owner);
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 tokenId) external view returns (address) {
        return _ownerOf(tokenId);
    }

    /// @inheritdoc IERC721
    function transferFrom(address from, address to, uint256 tokenId) public {
        _transferFrom(from, to, tokenId);
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        _safeTransferFrom(from, to, tokenId);
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        _safeTransferFrom(from, to, tokenId, data);
    }

    /// @inheritdoc IERC721
    function approve(address to, uint256 tokenId) external {
        _approve(to, tokenId);
    }

    /// @inheritdoc IERC721
    function setApprovalForAll(address operator, bool approved) external {
        _setApprovalForAll(operator, approved);
    }

    /// @inheritdoc IERC721
    function getApproved(uint256 tokenId) external view returns (address) {
        return _getApproved(tokenId);
    }

    /// @inheritdoc IERC721
    function isApprovedForAll(address owner, address operator) external view returns (bool) {
        return _isApprovedForAll(owner, operator);
    }

    /// @inheritdoc IERC721Metadata
    function name() external view returns (string memory) {
        return _name();
    }

    /// @inheritdoc IERC721Metadata
    function symbol() external view returns (string memory) {
        return _symbol();
    }

    /// @inheritdoc IERC721Metadata
    /// @dev Tickets of one tier share one metadata file, `baseURI + tierId`: the organizer pins
    /// one small directory per event before the sale, and minting needs no IPFS work at all.
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        return _tokenURI(tokenId);
    }

    /// @inheritdoc IERC2981
    function royaltyInfo(uint256 tokenId, uint256 salePrice) external view returns (address, uint256) {
        return _royaltyInfo(tokenId, salePrice);
    }

    /// @inheritdoc IERC5192
    /// @dev True exactly when a plain transfer by the holder would revert: always under
    /// MarketOnly and Locked, and under Free outside the tier's resale window.
    function locked(uint256 tokenId) external view returns (bool) {
        return _locked(tokenId);
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC721).interfaceId
            || interfaceId == type(IERC721Metadata).interfaceId || interfaceId == type(IERC2981).interfaceId
            || interfaceId == type(IERC5192).interfaceId || interfaceId == bytes4(0x49064906); // ERC-4906
    }

    /// @inheritdoc ITicketEvent
    function ticketGate() external view returns (address) {
        return _ticketGate;
    }

    /// @inheritdoc ITicketEvent
    function orderDigest(SellOrder calldata order) external view returns (bytes32) {
        return _orderDigest(order.tokenId, order.price, order.reservedFor, order.moves, order.nonce, order.deadline);
    }

    // ================================================================ forwarded to TicketEventAdmin

    /// @inheritdoc ITicketEventAdmin
    function initialize(EventParams calldata, address) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function addTier(Tier calldata) external returns (uint256) {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function setResaleWindow(uint256, uint40, uint40) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function setRoles(address, uint256) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function proposeOrganizer(address) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function acceptOrganizer() external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function setBaseURI(string calldata) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function cancel() external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function withdrawProceeds(address payable) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function releaseFromCustody(uint256, address) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function revoke(uint256[] calldata) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function cancelAllOrders() external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function rotateCommitment(uint256, bytes32) external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function withdrawPending() external {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    /// @dev Its name places its selector where the dispatcher's search for every other function
    /// (buy, buyWithOrder, list, purchase, mintBatch, claimRefund) is as long as before: a new
    /// selector elsewhere costs those paths 22 gas per extra comparison.
    function fundGiftRefunds(uint256[] calldata) external payable {
        _delegateToAdmin();
    }

    /// @inheritdoc ITicketEventAdmin
    function settleHeld(uint256[] calldata) external {
        _delegateToAdmin();
    }

    /// @dev Run the current call on TicketEventAdmin with this contract's storage, and return or
    /// revert with its data. The caller's parameters are decoded (validated) here first.
    function _delegateToAdmin() private {
        address admin = _admin;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), admin, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}
