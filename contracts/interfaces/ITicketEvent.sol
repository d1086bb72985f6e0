// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ITicketErrors} from "./ITicketErrors.sol";

/// @title The types, events and errors of one event's ticket contract (see ITicketEvent)
interface ITicketEventTypes is ITicketErrors {
    /// @notice How tickets may move outside the resale market.
    /// MarketOnly: only the market (capped) moves tickets; approvals and transfers revert.
    /// Free: holders may also transfer and approve (the commitment is cleared on a plain transfer).
    /// Locked: tickets never move after minting (soulbound).
    enum TransferPolicy {
        MarketOnly,
        Free,
        Locked
    }

    /// @notice A ticket tier, packed in one storage slot.
    /// @param faceValue Primary price in the event's currency (wei, or the token's smallest unit).
    /// @param supply Maximum tickets of this tier.
    /// @param minted Tickets minted so far (minted, bought, including later burned ones).
    /// @param resaleCapBps Resale cap as basis points of face value (10000 = face value), from
    /// 10000 to 20000: a ticket can always be resold at face, never above twice face.
    /// @param royaltyBps Organizer's share of each resale, in basis points (at most 10000).
    /// @param resaleOpensAt Resale window start (unix seconds).
    /// @param resaleClosesAt Resale window end (unix seconds): at or before doors (`startsAt`),
    /// so that after doors no ticket changes holder or commitment (InvalidParameter("window")).
    struct Tier {
        uint96 faceValue;
        uint24 supply;
        uint24 minted;
        uint16 resaleCapBps;
        uint16 royaltyBps;
        uint40 resaleOpensAt;
        uint40 resaleClosesAt;
    }

    /// @notice Everything an event is created with.
    /// @param name ERC-721 name.
    /// @param symbol ERC-721 symbol.
    /// @param baseURI Metadata base, e.g. `ipfs://CID/tiers/`; tokenURI is baseURI + the ticket's
    /// tier id (one ERC-721 metadata file per tier, see metadata/erc721.py).
    /// @param organizer The event's admin; receives proceeds and royalties.
    /// @param minter The fiat bridge's account (may be zero).
    /// @param gate The gate's account for root publication and check-in anchoring on the
    /// TicketGate (may be zero).
    /// @param currency Settlement currency, for good: address(0) is ETH, else an ERC-20 token (a
    /// stablecoin: 6 or 18 decimals) whose transfers deliver exactly the amount sent (a
    /// fee-on-transfer token is refused at the first payment, FeeOnTransferToken). Every price,
    /// escrow, royalty, held sale, refund and withdrawal of the event is in it. The token is
    /// trusted as the event's money: payments call it, and a token that called back into the
    /// event could re-enter a sale; an organizer names a stablecoin its buyers know.
    /// @param transferPolicy See TransferPolicy.
    /// @param startsAt Doors (unix seconds).
    /// @param endsAt End of the event; primary-sale ETH is released to the organizer after it.
    /// @param rootGracePeriod Seconds a replaced gate root stays acceptable.
    /// @param tiers The tiers (`minted` must be 0).
    struct EventParams {
        string name;
        string symbol;
        string baseURI;
        address organizer;
        address minter;
        address gate;
        address currency;
        TransferPolicy transferPolicy;
        uint40 startsAt;
        uint40 endsAt;
        uint32 rootGracePeriod;
        Tier[] tiers;
    }

    /// @notice What a buyer sends of a signed `SellOrder`: the terms the seller chose. The ticket's
    /// move count and the seller's nonce, which the signature also covers, are the chain's own
    /// (`movesOf`, `orderNonce`): the contract hashes its current values, so an order signed for
    /// others fails as `InvalidOrder`, and the buyer does not pay calldata for them.
    struct OrderTerms {
        uint256 tokenId;
        uint256 price;
        address reservedFor;
        uint256 deadline;
    }

    /// @notice An EIP-712 signed listing: costs the seller no gas, binds to the ticket's move count
    /// (so it dies when the ticket moves) and to the seller's order nonce (so the seller can cancel
    /// all open orders at once with `cancelAllOrders`).
    struct SellOrder {
        uint256 tokenId;
        uint256 price;
        address reservedFor;
        uint256 moves;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice One order's tickets in a mintBatch: one ticket per commitment, to `holder`.
    /// @param holder The fan's wallet, or the bridge's custody account.
    /// @param orderRef The bridge's order reference (non-zero makes the run exactly-once). Use
    /// sequential numbers (the order id as a big-endian uint256): 256 consecutive orders share
    /// one storage word of fulfilled flags, which costs ~5,000 gas per order instead of 22,100.
    /// @param commitments Holder commitments, one per ticket.
    struct MintRun {
        address holder;
        bytes32 orderRef;
        bytes32[] commitments;
    }

    /// @notice An EIP-2612 permit of the event's token, signed by the caller for this contract:
    /// see `permitAndCall`.
    /// @param value The allowance granted (at least what the call pays).
    struct Permit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice Emitted once, when the clone is initialized.
    event EventConfigured(address indexed organizer, string name, uint40 startsAt, uint40 endsAt, uint8 transferPolicy);
    /// @notice Emitted once, at initialization, when the event settles in an ERC-20 token (no
    /// such event: it settles in ETH).
    event CurrencyChosen(address indexed currency);
    /// @notice A tier was added.
    event TierAdded(uint256 indexed tierId, Tier tier);
    /// @notice A tier's resale window was set.
    event ResaleWindowSet(uint256 indexed tierId, uint40 opensAt, uint40 closesAt);
    /// @notice `organizer` proposed `proposed` as the event's organizer (zero: proposal withdrawn).
    event OrganizerProposed(address indexed organizer, address indexed proposed);
    /// @notice An account's roles were set (bit 1 minter, bit 2 gate).
    event RolesSet(address indexed account, uint256 roles);
    /// @notice The organizer changed.
    event OrganizerChanged(address indexed previous, address indexed organizer);
    /// @notice A run of tickets was issued: `commitments[i]` is the holder commitment of ticket
    /// `firstTokenId + i`. `orderRef` is the bridge's order reference (zero for ETH purchases).
    event TicketsIssued(address indexed holder, uint256 indexed tierId, bytes32 indexed orderRef, uint256 firstTokenId, bytes32[] commitments);
    /// @notice A minted run was skipped because its order was already fulfilled (exactly-once).
    event OrderAlreadyFulfilled(bytes32 indexed orderRef);
    /// @notice A ticket was listed (or its listing updated). Price 0 with a recipient is a gift.
    event Listed(uint256 indexed tokenId, address indexed seller, uint256 price, address reservedFor);
    /// @notice A listing was cancelled by its seller.
    event ListingCancelled(uint256 indexed tokenId);
    /// @notice A ticket was resold (or gifted); `commitment` is the new holder commitment. For the
    /// first sale for a price of a card-paid ticket, the tier's face value of `price` is held (see
    /// `heldSale` and `HeldSaleSettled`: its royalty, part of `royalty`, is paid with it), and the
    /// rest of the seller's proceeds is credited to the seller's pull balance (`pendingOf`).
    event Resold(uint256 indexed tokenId, address indexed seller, address indexed buyer, uint256 price, uint256 royalty, bytes32 commitment);
    /// @notice A holder replaced the ticket's commitment (zero: cleared by a plain transfer).
    event CommitmentRotated(uint256 indexed tokenId, bytes32 commitment);
    /// @notice The seller cancelled every open signed order by moving to a new nonce.
    event OrdersCancelled(address indexed seller, uint256 nonce);
    /// @notice A push payment failed and was credited to the receiver's pull balance.
    event PaymentDeferred(address indexed to, uint256 amount);
    /// @notice A pull balance was withdrawn.
    event PendingWithdrawn(address indexed to, uint256 amount);
    /// @notice The organizer withdrew proceeds (royalties, and escrow once the event has ended).
    event ProceedsWithdrawn(address indexed to, uint256 royalties, uint256 escrow);
    /// @notice The event was cancelled.
    event EventCancelledBy(address indexed organizer);
    /// @notice A ticket was burned after a cancellation and its face value refunded to `to`, named
    /// by its holder.
    event RefundClaimed(uint256 indexed tokenId, address indexed holder, address to, uint256 amount);
    /// @notice The held face value of a card ticket's first sale was paid out (the three amounts
    /// add up to it): after the event, `toSeller` to its seller and `toOrganizer` (its royalty) to
    /// the organizer's royalties; after a chargeback or a cancellation, all of it `toEscrow` as the
    /// ticket's face value (the ticket is then refundable like an ETH one).
    event HeldSaleSettled(
        uint256 indexed tokenId, address indexed seller, uint256 toSeller, uint256 toOrganizer, uint256 toEscrow
    );
    /// @notice After a cancellation the bridge paid `amount`, the face value of a card ticket its
    /// payer no longer holds, into escrow: the ticket's holder claims it like an ETH refund.
    event RefundFunded(uint256 indexed tokenId, uint256 amount);
    /// @notice A card-paid ticket was revoked (refund or chargeback at the payment provider).
    event TicketRevoked(uint256 indexed tokenId);
    /// @notice The bridge moved a ticket from custody to the fan's own wallet.
    event CustodyReleased(uint256 indexed tokenId, address indexed to);
    /// @notice ERC-4906: metadata of tokens in the range changed.
    event BatchMetadataUpdate(uint256 fromTokenId, uint256 toTokenId);
}

/// @title The views of one event's ticket contract (see ITicketEvent)
interface ITicketEventViews is ITicketEventTypes {
    /// @notice The event's organizer.
    function organizer() external view returns (address);

    /// @notice Roles of an account (bit 1 minter, bit 2 gate).
    function rolesOf(address account) external view returns (uint256);

    /// @notice Whether the event is cancelled.
    function cancelled() external view returns (bool);

    /// @notice The transfer policy.
    function transferPolicy() external view returns (TransferPolicy);

    /// @notice Doors and end of the event.
    function schedule() external view returns (uint40 startsAt, uint40 endsAt);

    /// @notice Number of tiers.
    function tierCount() external view returns (uint256);

    /// @notice A tier.
    function tier(uint256 tierId) external view returns (Tier memory);

    /// @notice A ticket's tier.
    function tierOf(uint256 tokenId) external view returns (uint256);

    /// @notice Whether the ticket's face value was paid on-chain, in the event's currency (ETH or
    /// its token; the name predates tokens), and so is refundable on-chain.
    function paidInEth(uint256 tokenId) external view returns (bool);

    /// @notice The settlement currency: address(0) for ETH, else the ERC-20 token.
    function currency() external view returns (address);

    /// @notice How many times the ticket moved since minting (signed orders bind to it).
    function movesOf(uint256 tokenId) external view returns (uint256);

    /// @notice The next token id (also the number of tickets ever minted).
    function nextTokenId() external view returns (uint256);

    /// @notice The resale cap of a tier, in the event's currency.
    function resaleCap(uint256 tierId) external view returns (uint256);

    /// @notice A ticket's listing (price 0 and seller 0 when not listed).
    function listing(uint256 tokenId) external view returns (address seller, uint256 price, address reservedFor);

    /// @notice The seller's current signed-order nonce.
    function orderNonce(address seller) external view returns (uint256);

    /// @notice Whether the bridge order was already minted.
    function orderFulfilled(bytes32 orderRef) external view returns (bool);

    /// @notice Primary-sale money held in escrow, in the event's currency.
    function escrowBalance() external view returns (uint256);

    /// @notice Royalties the organizer can withdraw now.
    function royaltyBalance() external view returns (uint256);

    /// @notice A pull balance: left by a failed push payment, or by a first sale of a card ticket
    /// (the seller's proceeds beyond the held face value).
    function pendingOf(address account) external view returns (uint256);

    /// @notice The organizer proposed and not yet accepted (zero when none).
    function pendingOrganizer() external view returns (address);

    /// @notice Whether `account` may act for this event on the TicketGate (organizer or gate role).
    function isGateOperator(address account) external view returns (bool);

    /// @notice Seconds a replaced gate root stays acceptable on the TicketGate.
    function rootGracePeriod() external view returns (uint256);

    /// @notice The held first sale of a card ticket (zero when none is held): its seller and the
    /// amount held, the ticket's face value.
    function heldSale(uint256 tokenId) external view returns (address seller, uint256 price);

    /// @notice Last moment (unix seconds) a cancelled event's holders can claim refunds: 180 days
    /// after its scheduled end.
    function refundDeadline() external view returns (uint256);

    /// @notice When holders last changed (a resale, gift, plain transfer, rotation or burn; 0
    /// never): the TicketGate refuses every replaced root published at or before it.
    function holdersChangedAt() external view returns (uint256);
}

/// @title What the organizer, the bridge and settlement do to an event (see ITicketEvent)
/// @notice Served by TicketEventAdmin through the event's own address: TicketEvent forwards these
/// calls to it with a delegatecall (their gas is about 2,700 above a direct call).
interface ITicketEventAdmin is ITicketEventTypes {
    /// @notice Set up a fresh clone. Called once by the factory.
    /// @param params The event's configuration.
    /// @param creator Who asked the factory: the event's organizer until `params.organizer`
    /// (when another account) accepts with `acceptOrganizer`.
    function initialize(EventParams calldata params, address creator) external;

    /// @notice Add a tier. Organizer only; not after cancellation. An event has at most 65,535
    /// tiers (tier ids are 16 bits in every ticket record).
    /// @param tier The tier (`minted` must be 0).
    /// @return tierId The new tier's id.
    function addTier(Tier calldata tier) external returns (uint256 tierId);

    /// @notice Set a tier's resale window. Organizer only; not after cancellation. It must open
    /// before it closes and close at or before doors, so it can never be reopened during the
    /// event (InvalidParameter("window")).
    function setResaleWindow(uint256 tierId, uint40 opensAt, uint40 closesAt) external;

    /// @notice Give an account roles (bit 1 minter, bit 2 gate); 0 removes them. Organizer only.
    function setRoles(address account, uint256 roles) external;

    /// @notice Propose another organizer (zero withdraws a proposal). Organizer only. The event
    /// changes hands when the proposed account accepts (`acceptOrganizer`): nobody is made the
    /// organizer of an event, its money and its tickets without consent.
    function proposeOrganizer(address organizer) external;

    /// @notice Accept the event proposed to the caller (at creation or by `proposeOrganizer`);
    /// `NotProposedOrganizer` for anyone else. Check the event first: its tiers, roles (a minter
    /// named by its creator) and tickets already minted come with it.
    function acceptOrganizer() external;

    /// @notice Change the metadata base (emits ERC-4906 BatchMetadataUpdate). Organizer only.
    function setBaseURI(string calldata baseURI) external;

    /// @notice Cancel the event: closes sales and resales and opens ETH refunds. Organizer only,
    /// before the event has ended (its escrow may be paid out after that).
    function cancel() external;

    /// @notice Withdraw royalties, plus the primary-sale escrow once the event has ended. Of a
    /// cancelled event, the escrow no holder claimed by `refundDeadline` (swept). Organizer only.
    /// @param to Receiver of the ETH.
    function withdrawProceeds(address payable to) external;

    /// @notice Move a ticket the minter holds in custody to the fan's own wallet (commitment kept).
    function releaseFromCustody(uint256 tokenId, address to) external;

    /// @notice After a refund or chargeback of the card payment: burn card-paid tickets never sold
    /// for a price (a gift or a plain transfer protects nothing). A ticket sold for a price stays
    /// with its buyer: before the cancellation, the held face value of its first sale goes into the
    /// ticket's escrow instead of to the seller (see `HeldSaleSettled`), which makes the organizer
    /// whole; after a cancellation it is refused, its holder claims the face value on-chain.
    /// Refused for ETH-paid tickets. Minter or organizer.
    function revoke(uint256[] calldata tokenIds) external;

    /// @notice Invalidate every open signed order of the caller.
    function cancelAllOrders() external;

    /// @notice Replace the ticket's holder commitment (new device, lost secret). Holder only,
    /// while the resale window is open: after it closes commitments are frozen for the gate.
    function rotateCommitment(uint256 tokenId, bytes32 commitment) external;

    /// @notice Withdraw the caller's pull balance (`pendingOf`).
    function withdrawPending() external;

    /// @notice After a cancellation and until `refundDeadline`, pay the face value of card tickets
    /// never sold for a price into escrow (exactly `msg.value`), once per ticket: each becomes
    /// refundable by its holder with `claimRefund` and can no longer be revoked. The bridge funds
    /// the tickets its card payers gave away (a gift or a plain transfer), once their card
    /// payments can no longer be disputed; it refunds the card only for tickets their payers
    /// still hold. Refused for ETH-paid or already funded tickets (`PaidInEth`) and for tickets
    /// sold for a price (`NotRefundable`: their first sale's held price refunds them). Minter or
    /// organizer.
    function fundGiftRefunds(uint256[] calldata tokenIds) external payable;

    /// @notice Pay out the held face values of card tickets' first sales (see `HeldSaleSettled`),
    /// once the event has ended or was cancelled. Anyone may call it.
    function settleHeld(uint256[] calldata tokenIds) external;
}

/// @title One event's tickets: ERC-721 with tiers, capped resale and a zero-knowledge gate
/// @notice Each ticket carries a holder commitment (a Poseidon hash of a secret on the holder's
/// device). Commitments live in events only, never in storage: the gate's Merkle tree is rebuilt
/// from `TicketsIssued`, `Resold`, `CommitmentRotated` and burns (`Transfer` to zero), and the
/// organizer publishes its root on the platform's TicketGate (`ticketGate()`), which also
/// anchors check-ins and verifies proofs on-chain.
///
/// Token ids start at 0 and are the leaf indexes of the gate tree (at most 2^20 per event).
/// Money, in the event's currency (`currency`: ETH, or an ERC-20 token the buyer approved or
/// permits in the same transaction, `permitAndCall`): primary-sale money stays in escrow until the event has ended (or is refunded after a
/// cancellation, until `refundDeadline`; what nobody claimed then goes to the organizer); resale
/// royalties are withdrawable by the organizer at any time; sellers are paid in the same
/// transaction (a push with bounded gas that falls back to a pull balance), except for the first
/// sale for a price of a card-paid ticket: at least its face value, which is held until the event
/// has happened (`settleHeld`), so that a chargeback of the card never returns the face value to
/// its payer twice; the rest of the seller's proceeds (the markup above face, less its royalty,
/// which the cap bounds) goes to the seller's pull balance at once (`withdrawPending`).
interface ITicketEvent is ITicketEventViews, ITicketEventAdmin {
    /// @notice Mint runs of tickets for paid orders, many orders in one transaction. Minter only.
    /// A run holds at most 1024 tickets (so finding a ticket's owner stays cheap).
    /// Each run gives one ticket per commitment to its holder; a run whose non-zero `orderRef` was
    /// already fulfilled is skipped (`OrderAlreadyFulfilled`), so a resent batch never mints twice.
    /// @return firstTokenId The id of the first ticket minted by this call.
    function mintBatch(uint256 tierId, MintRun[] calldata runs) external returns (uint256 firstTokenId);

    /// @notice Buy tickets at face value, one per commitment (at most 1024), to the caller: in ETH
    /// as the value sent, or in the event's token taken from the caller (no ETH with it).
    /// @return firstTokenId The id of the first ticket bought.
    function purchase(uint256 tierId, bytes32[] calldata commitments) external payable returns (uint256 firstTokenId);

    /// @notice List (or update the listing of) a ticket at `price`, at most the cap, while the
    /// tier's resale window is open. A price of 0 is a gift and needs `reservedFor`.
    /// @param reservedFor The only buyer allowed, or zero for anyone.
    function list(uint256 tokenId, uint256 price, address reservedFor) external;

    /// @notice Cancel a listing. Holder only.
    function cancelListing(uint256 tokenId) external;

    /// @notice Buy a listed ticket, paying exactly its price; royalty and seller are paid in this
    /// transaction and the holder commitment becomes `commitment`. The first sale for a price of
    /// a card-paid ticket is at least at face value and its face value is held (see `settleHeld`;
    /// the rest of the seller's proceeds goes to its pull balance).
    /// A reserved listing is taken by its externally owned account itself, never by a contract.
    function buy(uint256 tokenId, bytes32 commitment) external payable;

    /// @notice Buy a ticket through an EIP-712 `SellOrder` signed by its holder: `terms` are the
    /// order's own, with the ticket's current move count and the seller's current nonce; `r` and
    /// `vs` its signature in EIP-2098's compact form (`vs` = (v - 27) << 255 | s, s in the lower
    /// half of the curve order). Paid as `buy` pays.
    function buyWithOrder(OrderTerms calldata terms, bytes32 r, bytes32 vs, bytes32 commitment) external payable;

    /// @notice After a cancellation and until `refundDeadline`, burn the caller's tickets and pay
    /// their face value to `to`: ETH-paid tickets, and card tickets bought on the market (from the
    /// held price of their first sale), and card tickets the bridge funded (`fundGiftRefunds`). The
    /// refund follows the ticket: whoever holds it claims it, once. Card tickets their payers
    /// still hold are refunded by the bridge to the card (and revoked).
    /// @param to Receiver of the refund (a holder contract that cannot receive ETH names another).
    function claimRefund(uint256[] calldata tokenIds, address to) external;

    /// @notice Approve this contract with the caller's EIP-2612 `permit` of the event's token and
    /// make one call to this contract as the caller (`purchase`, `buy`, `buyWithOrder`): a fan
    /// buys in one transaction, without a separate approval. A permit that fails (already used,
    /// e.g. seen in the mempool and submitted by someone else) is ignored: the call then pays
    /// from the existing allowance, or reverts for the lack of it. UnsupportedCurrency on an
    /// event that settles in ETH.
    /// @param data The calldata of the call (its revert is this function's).
    /// @return The call's return data.
    function permitAndCall(Permit calldata permit, bytes calldata data) external returns (bytes memory);

    /// @notice The platform's TicketGate, which keeps this event's roots and check-ins.
    function ticketGate() external view returns (address);

    /// @notice The EIP-712 digest of a sell order, as the holder signs it.
    function orderDigest(SellOrder calldata order) external view returns (bytes32);
}
