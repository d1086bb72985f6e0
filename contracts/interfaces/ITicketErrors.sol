// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Errors of the Fairgate ticket contracts
/// @notice Every revert of TicketEvent, TicketGate and TicketFactory is one of these. The Python layer decodes
/// each into an exception class of the same name (chain.errors), so keep names stable.
interface ITicketErrors {
    /// @notice The contract was already initialized (clones are initialized once, by the factory).
    error AlreadyInitialized();
    /// @notice The caller lacks the role the function needs.
    /// @param account The caller.
    /// @param role The role bit required (1 = minter, 2 = gate; 0 = organizer).
    error MissingRole(address account, uint256 role);
    /// @notice The caller is not the organizer proposed for this event.
    /// @param caller The caller.
    error NotProposedOrganizer(address caller);
    /// @notice A parameter is out of its allowed range.
    /// @param what A short name of the parameter.
    error InvalidParameter(string what);
    /// @notice The operation needs another currency: a permit on an event that settles in ETH, or
    /// a currency that is not an ERC-20 token.
    /// @param currency The event's or the requested settlement currency (address(0): ETH).
    error UnsupportedCurrency(address currency);
    /// @notice The tier does not exist.
    /// @param tierId The tier asked for.
    error UnknownTier(uint256 tierId);
    /// @notice The ticket does not exist (never minted, revoked or refunded).
    /// @param tokenId The ticket asked for.
    error NonexistentTicket(uint256 tokenId);
    /// @notice Minting would exceed the tier's supply.
    /// @param tierId The tier.
    /// @param requested How many tickets were asked for.
    /// @param remaining How many are left.
    error SoldOut(uint256 tierId, uint256 requested, uint256 remaining);
    /// @notice A holder commitment is zero or not below the BN254 scalar field modulus.
    /// @param commitment The rejected value.
    error InvalidCommitment(bytes32 commitment);
    /// @notice Arrays that must line up do not.
    error LengthMismatch();
    /// @notice The ETH sent does not equal the price.
    /// @param sent The value sent.
    /// @param expected The price.
    error WrongPayment(uint256 sent, uint256 expected);
    /// @notice The event is cancelled: sales, resales and mints are closed.
    error EventCancelled();
    /// @notice The event is not cancelled, so refunds are closed.
    error EventNotCancelled();
    /// @notice The event has ended: primary sales, minting and cancellation are closed.
    error SalesClosed();
    /// @notice The caller does not hold the ticket.
    /// @param tokenId The ticket.
    /// @param caller The caller.
    error NotTicketHolder(uint256 tokenId, address caller);
    /// @notice The caller may not move this ticket.
    /// @param tokenId The ticket.
    /// @param caller The caller.
    error NotAuthorized(uint256 tokenId, address caller);
    /// @notice A resale price is above the tier's cap.
    /// @param price The asked price.
    /// @param cap The cap (face value times the cap in basis points).
    error PriceAboveCap(uint256 price, uint256 cap);
    /// @notice The tier's resale window is not open (or the policy locks tickets).
    /// @param tokenId The ticket.
    error ResaleClosed(uint256 tokenId);
    /// @notice The ticket is not listed.
    /// @param tokenId The ticket.
    error NotListed(uint256 tokenId);
    /// @notice The listing or order is reserved for another buyer.
    /// @param tokenId The ticket.
    /// @param reservedFor The only address that may take it.
    error ReservedForAnother(uint256 tokenId, address reservedFor);
    /// @notice A price of zero is only allowed as a gift to a named address.
    error GiftNeedsRecipient();
    /// @notice The seller cannot buy their own ticket.
    error SelfPurchase();
    /// @notice The event's transfer policy forbids moving tickets outside the resale market.
    error TransferOutsideMarket();
    /// @notice The ticket is locked (ERC-5192): the policy or the closed window forbids moving it.
    /// @param tokenId The ticket.
    error TicketLocked(uint256 tokenId);
    /// @notice The receiver is the zero address or a contract that does not accept ERC-721 tokens.
    /// @param receiver The receiver.
    error InvalidReceiver(address receiver);
    /// @notice A signed sell order is expired, stale, cancelled, or not signed by the holder.
    /// @param tokenId The ticket.
    error InvalidOrder(uint256 tokenId);
    /// @notice The ticket was paid in ETH, so only a refund (not a revocation) may burn it.
    /// @param tokenId The ticket.
    error PaidInEth(uint256 tokenId);
    /// @notice The ticket was not paid in ETH on-chain: card buyers are refunded by the bridge.
    /// @param tokenId The ticket.
    error NotRefundable(uint256 tokenId);
    /// @notice Sending ETH or the event's token failed.
    /// @param to The receiver.
    /// @param amount The amount.
    error PaymentFailed(address to, uint256 amount);
    /// @notice The currency token delivered another amount than was sent (a fee-on-transfer or
    /// rebasing token): such a token cannot back escrow and refunds, so it is refused.
    /// @param token The event's currency.
    /// @param expected The amount sent.
    /// @param received The amount that arrived.
    error FeeOnTransferToken(address token, uint256 expected, uint256 received);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw();
    /// @notice A function that must not be re-entered was re-entered.
    error Reentrancy();
    /// @notice The gate root is not published, or was replaced longer ago than the grace period.
    /// @param root The root.
    error UnknownRoot(bytes32 root);
    /// @notice The nullifier was already used to enter.
    /// @param nullifier The nullifier.
    error NullifierUsed(bytes32 nullifier);
    /// @notice An on-chain check-in's challenge is not the current or the previous time window's
    /// (`ITicketGate.windowChallenge`): a code made earlier, e.g. photographed, is refused.
    /// @param challenge The challenge the proof answers.
    error StaleChallenge(uint256 challenge);
    /// @notice No on-chain proof verifier is configured for this event.
    error NoVerifier();
    /// @notice The first sale for a price of a card-paid ticket must be at least at face value: its
    /// price is held to make the organizer whole if the card payment is charged back.
    /// @param price The price.
    /// @param faceValue The tier's face value.
    error PriceBelowFace(uint256 price, uint256 faceValue);
    /// @notice A listing or order reserved for an address (every gift) is taken by that externally
    /// owned account itself, not through a contract.
    /// @param taker The calling contract.
    error TakerNotExternallyOwned(address taker);
    /// @notice The ticket's held first-sale price is released only once the event has ended or
    /// was cancelled.
    /// @param tokenId The ticket.
    error StillHeld(uint256 tokenId);
    /// @notice Refunds of this cancelled event closed at the deadline; the rest went to the organizer.
    /// @param deadline The refund deadline (unix seconds).
    error RefundDeadlinePassed(uint256 deadline);
    /// @notice The zero-knowledge proof did not verify.
    error InvalidProof();
}
