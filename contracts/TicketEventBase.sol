// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {ITicketEventViews} from "./interfaces/ITicketEvent.sol";
import {IERC5192} from "./interfaces/IERC5192.sol";
import {ResaleMath} from "./libraries/ResaleMath.sol";
import {Settlement} from "./libraries/Settlement.sol";
// per build: contracts/_hardfork/cancun/ (transient storage) or contracts/_hardfork/shanghai/
import {ReentrancyLock} from "hardfork/ReentrancyLock.sol";

/// @title TicketEventBase: the state and every rule of one event's tickets
/// @notice See ITicketEvent for the behaviour of every function. An event is one address (a
/// TicketFactory clone of TicketEvent) served by two implementations that share this storage:
/// TicketEvent (the ticket, primary sale, market and refunds: what fans pay gas for) and
/// TicketEventAdmin (the organizer's, bridge's and settlement's operations), to which TicketEvent
/// forwards those calls with a delegatecall. Both inherit this contract, so the state is declared
/// once, private, and every rule is written once here; each implementation only chooses which
/// external functions it serves (and compiles only the code they reach), which keeps each well
/// under the 24,576-byte code limit.
/// @dev Storage design, driven by the gas budgets (batch mint <= 3,000 gas per ticket, any resale
/// <= 100,000 gas):
/// - Holder commitments are never stored: they travel in calldata and `TicketsIssued`/`Resold`
///   logs, which is all the gate's tree builder needs.
/// - Ownership is stored once per minted run (`_runs[firstId]`, runs of at most 1024 tickets), and
///   a bitmap marks run starts, so finding the owner of a never-moved ticket reads one to four
///   bitmap words (256 ids each) and one record, instead of ERC721A's backward scan (which costs
///   a late ticket in a batch up to ~290,000 gas).
/// - Consecutive one-ticket runs in a batch (orders of one ticket) form a dense segment: one
///   bitmap bit and one record (holding the first owner) per segment, the other owners packed 160
///   bits each in `_packedOwners` (8 in 5 words), so such an order costs less than a plain
///   ERC-721 `_mint` (one owner slot and one balance slot per token); reading such an owner costs
///   one or two more loads.
/// - A ticket gets its own record (`_tickets[id]`) when it is first listed or moved; such a ticket
///   is read with one load. Records pack owner | tier | move count | flags in one word. Listing
///   writes it so that the buyer's transaction, the one with a budget, never pays for a new slot.
/// - Token approvals are bound to the move count, so a move never has to clear them.
/// - Royalties are not stored: they are the contract's balance less escrow, pull balances and
///   held first-sale money (`_heldTotal`, packed with the counters).
/// - A card ticket's first sale for a price holds its face value with a record flag (FLAG_HELD);
///   the seller is its mint record's owner (or, for a ticket that moved before, `_held[id]`), and
///   the rest of the seller's proceeds is credited to the seller's `_holders` word, which the sale
///   writes anyway: the buyer pays for no slot of its own for it.
abstract contract TicketEventBase is ITicketEventViews {
    using Strings for uint256;

    /// @dev BN254 scalar field: commitments, roots and nullifiers are elements of it.
    uint256 private constant FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev The gate tree has depth 20: at most 2^20 tickets per event.
    uint256 private constant MAX_TICKETS = 1 << 20;
    /// @dev Longest run one mint may create: finding a ticket's run scans at most 4 bitmap words.
    uint256 private constant MAX_RUN = 1024;
    /// @dev keccak256("Transfer(address,address,uint256)")
    bytes32 private constant TRANSFER_EVENT = 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;
    /// @dev bytes4(keccak256("InvalidCommitment(bytes32)"))
    uint256 private constant INVALID_COMMITMENT_SELECTOR = 0x537fbfab;
    /// @dev keccak256("TicketsIssued(address,uint256,bytes32,uint256,bytes32[])"), for assembly.
    /// @dev keccak256("Resold(uint256,address,address,uint256,uint256,bytes32)")
    bytes32 private constant RESOLD_EVENT = 0x828ea77c1305e6f7c15649dfd4b86f92291cc5aea449099b4578e46e5e57ca42;
    bytes32 private constant TICKETS_ISSUED_EVENT = 0x1aedd1ac5c4e0db1f6d1695ee00cbf080642a09582de7231e776f33e0e8c3adc;
    /// @dev The EIP-712 domain of every event's orders (TicketEvent's EIP712 and `_orderDigest`).
    string internal constant EIP712_NAME = "Fairgate Ticket";
    string internal constant EIP712_VERSION = "1";
    /// @dev keccak256("SellOrder(uint256 tokenId,uint256 price,address reservedFor,uint256 moves,uint256 nonce,uint256 deadline)")
    bytes32 internal constant SELL_ORDER_TYPEHASH = 0xb2272cc13bc4ce3d6e022372126ab90b31334515cea1d22169d1c3abc1d1a69a;
    uint256 private constant ROLE_MINTER = 1;
    uint256 private constant ROLE_GATE = 2;

    uint256 private constant OWNER_MASK = (1 << 160) - 1;
    uint256 private constant TIER_SHIFT = 160;
    uint256 private constant MOVES_SHIFT = 176;
    uint256 private constant ONE_MOVE = 1 << 176;
    uint256 private constant FLAG_PAID_IN_ETH = 1 << 208;
    uint256 private constant FLAG_BURNED = 1 << 209;
    /// @dev The ticket was sold for a price at least once (a card ticket's first such sale is held).
    uint256 private constant FLAG_SOLD = 1 << 210;
    uint256 private constant BALANCE_MASK = (1 << 64) - 1;
    /// @dev `_holders`: the signed-order nonce is bits [64, 160), what the holder is owed by its
    /// first sales of card tickets (see _settleResale) bits [160, 256).
    uint256 private constant NONCE_MASK = (1 << 96) - 1;
    uint256 private constant OWED_SHIFT = 160;
    uint256 private constant PRICE_BITS = 96;
    /// @dev Fields of a Tier's storage word (`_tierWord`), in Solidity's packing order: faceValue
    /// 96 bits, supply 24, minted 24, resaleCapBps 16, royaltyBps 16, resaleOpensAt 40, resaleClosesAt 40.
    uint256 private constant CAP_BPS_SHIFT = 144;
    uint256 private constant ROYALTY_BPS_SHIFT = 160;
    uint256 private constant OPENS_SHIFT = 176;
    uint256 private constant CLOSES_SHIFT = 216;
    /// @dev No bitmap word loaded yet (a word index is at most 2**248 - 1).
    uint256 private constant NO_WORD = type(uint256).max;
    /// @dev The ticket may have a listing (set by `list`, cleared by its next move): only such a
    /// ticket's move reads `_listings`, so a signed-order sale pays no cold slot for it.
    uint256 private constant FLAG_LISTED = 1 << 211;
    /// @dev The face value of this card ticket's first sale for a price is held (see _settleHeld):
    /// a flag in the record the sale writes anyway, instead of a slot of its own.
    uint256 private constant FLAG_HELD = 1 << 212;
    /// @dev In `_runs` records only: a dense segment of one-ticket runs. The record holds the
    /// first ticket's owner; the owners of the others are packed in `_packedOwners`.
    uint256 private constant FLAG_DENSE = 1 << 213;
    /// @dev In `_update`'s mint `record` only, never stored: the ticket continues a dense segment
    /// (its owner packed by mintBatch), so it writes no run record.
    uint256 private constant MINT_PACKED = 1 << 255;
    /// @dev Bits of an owner in `_packedOwners`: ticket `id`'s owner is bits [160 id, 160 id + 160).
    uint256 private constant OWNER_BITS = 160;
    /// @dev `_flags`: set once the clone is initialized (the implementations' at construction).
    uint8 private constant INITIALIZED = 1;
    /// @dev `_flags`: a guarded function is running (see `_enter`; the shanghai build only, the
    /// cancun build keeps its lock in transient storage).
    uint8 private constant ENTERED = 2;
    /// @dev `_flags`: the event settles in the ERC-20 token `_currency`, not in ETH.
    uint8 private constant IN_TOKEN = 16;
    /// @dev `_flags`: the transfer policy, in bits 2-3.
    uint8 private constant POLICY_SHIFT = 2;
    /// @dev How a live ticket moves (`_update`'s `via`): by the market (a sale or a gift, through a
    /// listing or a signed order), by a plain ERC-721 transfer (by its holder or one it approved),
    /// from the bridge's custody, or out of existence (a revocation or a refund).
    uint256 private constant VIA_MARKET = 0;
    uint256 private constant VIA_TRANSFER = 1;
    uint256 private constant VIA_CUSTODY = 2;
    uint256 private constant VIA_BURN = 3;
    /// @dev A `_held` word reserved by `list` for a ticket that moved before (no seller yet): its
    /// buyer then writes a warm slot.
    uint256 private constant HELD_RESERVED = 1 << 160;
    /// @dev How long after the scheduled end of a cancelled event its holders can claim refunds.
    uint256 private constant REFUND_PERIOD = 180 days;

    // slot: organizer and schedule
    address private _organizer;
    uint40 private _startsAt;
    uint40 private _endsAt;
    bool private _cancelled;
    // slot: counters and flags (every move reads it: the policy is here, not in the slot above)
    uint32 private _nextTokenId;
    uint32 private _supplyTotal;
    uint32 private _rootGrace;
    uint16 private _tierCount;
    /// @dev INITIALIZED | ENTERED | policy << POLICY_SHIFT | IN_TOKEN; bits 5-7 free. The currency
    /// flag is here, in the slot every money path reads anyway, so an ETH event pays no cold
    /// storage read to learn its currency.
    uint8 private _flags;
    /// @dev The money held for the first sales of card tickets: their face values (FLAG_HELD) and
    /// what their sellers are owed and have not withdrawn (see _settleResale). In this slot: the
    /// signed-order path has it warm.
    uint96 private _heldTotal;
    /// @dev When holders last changed (resale, gift, transfer, rotation, burn): the TicketGate
    /// refuses a replaced root published at or before it. 32 bits (until 2106) to share this slot.
    uint32 private _holdersChangedAt;

    string private _tokenName;
    string private _tokenSymbol;
    string private _baseURI;

    mapping(uint256 tierId => Tier) private _tiers;
    mapping(address account => uint256) private _roles;
    /// @dev Ownership record of each minted run, keyed by its first token id.
    mapping(uint256 firstId => uint256) private _runs;
    /// @dev Bit i of word w is set when token 256 * w + i starts a run.
    mapping(uint256 word => uint256) private _runStarts;
    /// @dev Ownership record of each ticket that has moved at least once.
    mapping(uint256 tokenId => uint256) private _tickets;
    /// @dev balance (low 64 bits) | signed-order nonce << 64 (96 bits) | owed << OWED_SHIFT: what
    /// the holder's first sales of card tickets left it beyond their held face values, paid by
    /// `withdrawPending`
    mapping(address holder => uint256) private _holders;
    /// @dev price (low 96 bits) | reservedFor << 96; zero when not listed
    mapping(uint256 tokenId => uint256) private _listings;
    /// @dev approved | move count at approval << 160
    mapping(uint256 tokenId => uint256) private _tokenApprovals;
    mapping(address owner => mapping(address operator => bool)) private _operatorApprovals;
    /// @dev Bit (ref & 255) of word (ref >> 8) is set once order `ref` is minted. Sequential order
    /// references (the bridge's order ids) share words: ~5,000 gas per order instead of 22,100.
    mapping(uint256 word => uint256) private _fulfilledOrders;
    uint256 private _escrow;
    uint256 private _pendingTotal;
    mapping(address account => uint256) private _pending;
    /// @dev The seller of a card ticket's held first sale when it was not the ticket's first
    /// owner (the ticket had moved before: a gift, a transfer, a custody release), until
    /// `_settleHeld`; zero (or HELD_RESERVED) otherwise: the seller is the mint record's owner.
    mapping(uint256 tokenId => uint256) private _held;
    /// @dev The organizer proposed by the current one (or named at creation by someone else),
    /// until it accepts: an event becomes an organizer's only with its consent.
    address private _pendingOrganizer;
    /// @dev The owners of one-ticket runs minted in a dense segment, 160 bits each, ticket `id` at
    /// bit 160 * id of this array of words: 8 owners take 5 words instead of 8 run records, so a
    /// batch of one-ticket orders to new holders costs less per ticket than a plain ERC-721 mint.
    mapping(uint256 word => uint256) private _packedOwners;
    /// @dev The settlement token when `_flags & IN_TOKEN` (read on token paths only).
    address private _currency;

    /// @dev `mintBatch`'s cursor over `_packedOwners`: the word being filled (written when the
    /// cursor leaves it), and how many tickets the current dense segment holds (0: none open).
    struct OwnerPacker {
        uint256 word;
        uint256 bits;
        uint256 segment;
    }


    /// @dev An implementation's own storage can never be initialized; only clones are.
    constructor() {
        _flags = INITIALIZED;
    }

    function _initialize(EventParams calldata params, address creator) internal {
        if (_flags & INITIALIZED != 0) revert AlreadyInitialized();
        _flags = INITIALIZED | (uint8(params.transferPolicy) << POLICY_SHIFT);
        if (params.organizer == address(0) || creator == address(0)) revert InvalidParameter("organizer");
        if (params.currency != address(0)) {
            if (params.currency.code.length == 0) revert UnsupportedCurrency(params.currency);
            _flags |= IN_TOKEN;
            _currency = params.currency;
            emit CurrencyChosen(params.currency);
        }
        if (params.endsAt <= params.startsAt) revert InvalidParameter("schedule");
        // The named organizer must consent: until it accepts, the creator administers the event
        // and receives its money, so nobody can sell tickets that look like another's.
        _organizer = creator;
        if (params.organizer != creator) {
            _pendingOrganizer = params.organizer;
            emit OrganizerProposed(creator, params.organizer);
        }
        _startsAt = params.startsAt;
        _endsAt = params.endsAt;
        _rootGrace = params.rootGracePeriod;
        _tokenName = params.name;
        _tokenSymbol = params.symbol;
        _baseURI = params.baseURI;
        emit EventConfigured(params.organizer, params.name, params.startsAt, params.endsAt, uint8(params.transferPolicy));
        if (params.minter != address(0)) _storeRoles(params.minter, _roles[params.minter] | ROLE_MINTER);
        if (params.gate != address(0)) _storeRoles(params.gate, _roles[params.gate] | ROLE_GATE);
        for (uint256 i; i < params.tiers.length; ++i) {
            _storeTier(params.tiers[i]);
        }
    }

    function _addTier(Tier calldata t) internal returns (uint256) {
        _onlyOrganizer();
        if (_cancelled) revert EventCancelled();
        return _storeTier(t);
    }

    function _setResaleWindow(uint256 tierId, uint40 opensAt, uint40 closesAt) internal {
        _onlyOrganizer();
        if (_cancelled) revert EventCancelled();
        _requireWindow(opensAt, closesAt);
        Tier storage t = _existingTier(tierId);
        t.resaleOpensAt = opensAt;
        t.resaleClosesAt = closesAt;
        emit ResaleWindowSet(tierId, opensAt, closesAt);
    }

    function _setRoles(address account, uint256 roles) internal {
        _onlyOrganizer();
        if (roles > (ROLE_MINTER | ROLE_GATE)) revert InvalidParameter("roles");
        _storeRoles(account, roles);
    }

    function _proposeOrganizer(address newOrganizer) internal {
        _onlyOrganizer();
        _pendingOrganizer = newOrganizer;
        emit OrganizerProposed(msg.sender, newOrganizer);
    }

    function _acceptOrganizer() internal {
        if (msg.sender != _pendingOrganizer || msg.sender == address(0)) revert NotProposedOrganizer(msg.sender);
        emit OrganizerChanged(_organizer, msg.sender);
        _organizer = msg.sender;
        _pendingOrganizer = address(0);
    }

    function _setBaseURI(string calldata baseURI) internal {
        _onlyOrganizer();
        _baseURI = baseURI;
        emit BatchMetadataUpdate(0, type(uint256).max);
    }

    function _cancel() internal {
        _onlyOrganizer();
        if (_cancelled) revert EventCancelled();
        // After the end the escrow may already be paid out: refunds could not be honoured.
        if (block.timestamp >= _endsAt) revert SalesClosed();
        _cancelled = true;
        emit EventCancelledBy(msg.sender);
        // Closing every window stops resales without one more storage read on the resale path.
        uint40 now_ = uint40(block.timestamp);
        for (uint256 id; id < _tierCount; ++id) {
            Tier storage t = _tiers[id];
            if (t.resaleClosesAt > now_) {
                uint40 opens = t.resaleOpensAt < now_ ? t.resaleOpensAt : now_;
                t.resaleOpensAt = opens;
                t.resaleClosesAt = now_;
                emit ResaleWindowSet(id, opens, now_);
            }
        }
    }

    function _withdrawProceeds(address payable to) internal {
        _onlyOrganizer();
        _enter();
        uint256 royalties = Settlement.balance(_currencyOf()) - _escrow - _pendingTotal - _heldTotal;
        // Escrow is the organizer's once the event has happened; after a cancellation, what no
        // holder claimed by the refund deadline is swept to the organizer.
        bool released = _cancelled ? block.timestamp > refundDeadline() : block.timestamp >= _endsAt;
        uint256 escrow = released ? _escrow : 0;
        if (royalties + escrow == 0) revert NothingToWithdraw();
        _escrow -= escrow;
        emit ProceedsWithdrawn(to, royalties, escrow);
        _sendValue(to, royalties + escrow);
        _exit();
    }

    function _mintBatch(uint256 tierId, MintRun[] calldata runs) internal returns (uint256 firstTokenId) {
        _onlyRole(ROLE_MINTER);
        _requireSalesOpen();
        _existingTier(tierId);
        uint256 bits = _mintBits(tierId, 0);
        firstTokenId = _nextTokenId;
        uint256 next = firstTokenId;
        // Per order this loop costs one run record and one balance update in storage. The two
        // bitmaps are read and written once per word, not once per order: the bridge's order refs
        // are sequential and runs contiguous, so a batch touches one or two words of each. Each
        // run is read from calldata once (`_runAt`). On Ganache every EVM step and storage write
        // is expensive, so this is also what makes batches fast there.
        uint256 refWord = NO_WORD;
        uint256 refBits;
        uint256 startWord = next >> 8;
        uint256 startBits = _runStarts[startWord];
        // One-ticket runs (an order of one ticket) share dense segments: one bitmap bit and one
        // record per segment of up to MAX_RUN of them, their owners packed (`_packOwner`).
        OwnerPacker memory packer = OwnerPacker(NO_WORD, 0, 0);
        for (uint256 k; k < runs.length; ++k) {
            (address holder, bytes32 ref, uint256 commitments, uint256 n) = _runAt(runs, k);
            if (ref != bytes32(0)) {
                uint256 word = uint256(ref) >> 8;
                if (word != refWord) {
                    if (refWord != NO_WORD) _fulfilledOrders[refWord] = refBits;
                    refWord = word;
                    refBits = _fulfilledOrders[word];
                }
                uint256 bit = 1 << (uint256(ref) & 0xff);
                if (refBits & bit != 0) {
                    emit OrderAlreadyFulfilled(ref);
                    continue;
                }
                refBits |= bit;
            }
            if (n == 0) revert LengthMismatch();
            uint256 runBits = bits;
            if (n == 1 && packer.segment != 0 && packer.segment < MAX_RUN) {
                ++packer.segment;
                runBits |= MINT_PACKED;
                _packOwner(packer, next, holder);
            } else {
                if (next >> 8 != startWord) {
                    _runStarts[startWord] = startBits;
                    startWord = next >> 8;
                    startBits = _runStarts[startWord];
                }
                startBits |= 1 << (next & 0xff);
                // a one-ticket run opens a dense segment; its own record keeps its owner
                packer.segment = n == 1 ? 1 : 0;
                if (n == 1) runBits |= FLAG_DENSE;
            }
            _mintRun(holder, runBits, ref, next, commitments, n);
            next += n;
        }
        if (packer.word != NO_WORD) _packedOwners[packer.word] = packer.bits;
        if (refWord != NO_WORD) _fulfilledOrders[refWord] = refBits;
        if (next != firstTokenId) _runStarts[startWord] = startBits;
        _recordMinted(_existingTier(tierId), tierId, next - firstTokenId);
        _nextTokenId = uint32(next);
    }

    function _purchase(uint256 tierId, bytes32[] calldata commitments) internal returns (uint256 firstTokenId) {
        _requireSalesOpen();
        Tier storage t = _existingTier(tierId);
        uint256 n = commitments.length;
        uint256 faceValue = t.faceValue;
        if (n == 0) revert LengthMismatch();
        if (faceValue == 0) revert InvalidParameter("tier not for sale");
        uint256 price = faceValue * n;
        _collect(price);
        firstTokenId = _nextTokenId;
        _runStarts[firstTokenId >> 8] |= 1 << (firstTokenId & 0xff);
        _mintRun(
            msg.sender, _mintBits(tierId, FLAG_PAID_IN_ETH), bytes32(0), firstTokenId, _offsetOf(commitments), n
        );
        _recordMinted(t, tierId, n);
        _nextTokenId = uint32(firstTokenId + n);
        _escrow += price;
    }

    function _releaseFromCustody(uint256 tokenId, address to) internal {
        _onlyRole(ROLE_MINTER);
        uint256 record = _record(tokenId);
        if (address(uint160(record)) != msg.sender) revert NotTicketHolder(tokenId, msg.sender);
        _update(to, tokenId, 1, record, VIA_CUSTODY);
        emit CustodyReleased(tokenId, to);
    }

    function _revoke(uint256[] calldata tokenIds) internal {
        _onlyRole(ROLE_MINTER);
        bool cancelled_ = _cancelled;
        for (uint256 i; i < tokenIds.length; ++i) {
            uint256 tokenId = tokenIds[i];
            uint256 record = _record(tokenId);
            if (record & FLAG_PAID_IN_ETH != 0) revert PaidInEth(tokenId);
            if (record & FLAG_SOLD == 0) {
                // Never sold for a price (gifts and plain transfers included): the card payment
                // went back, so the ticket goes too.
                _update(address(0), tokenId, 1, record, VIA_BURN);
                emit TicketRevoked(tokenId);
                continue;
            }
            // Sold for a price: its buyer keeps it. After a cancellation its holder claims the
            // face value on-chain, so the bridge only refunds the card. On a chargeback, the held
            // price of its first sale makes the organizer whole instead of the seller.
            if (cancelled_ || record & FLAG_HELD == 0) revert NotAuthorized(tokenId, msg.sender);
            _settleHeld(tokenId, record, true);
        }
    }

    function _list(uint256 tokenId, uint256 price, address reservedFor) internal {
        uint256 record = _record(tokenId);
        if (address(uint160(record)) != msg.sender) revert NotTicketHolder(tokenId, msg.sender);
        if (_policy() == TransferPolicy.Locked) revert TicketLocked(tokenId);
        uint256 t = _tierWord(_tierIdOf(record));
        if (!_resaleOpen(t)) revert ResaleClosed(tokenId);
        uint256 cap = ResaleMath.cap(_faceOf(t), (t >> CAP_BPS_SHIFT) & 0xffff);
        if (price > cap) revert PriceAboveCap(price, cap);
        if (price >> PRICE_BITS != 0) revert InvalidParameter("price");
        if (price == 0 && reservedFor == address(0)) revert GiftNeedsRecipient();
        if (reservedFor == msg.sender) revert SelfPurchase();
        // Give a never-moved ticket its own record now, at the seller's cost: the buyer's
        // transaction then updates a warm non-zero slot and skips the run lookup (~21,000 gas).
        // FLAG_LISTED tells the ticket's next move to clear the listing.
        if (record & FLAG_LISTED == 0) _tickets[tokenId] = record | FLAG_LISTED;
        // The same for the seller of a card ticket's held first sale, when it is not the mint
        // record's owner (see _settleResale).
        if (record & (FLAG_PAID_IN_ETH | FLAG_SOLD) == 0 && _movesOf(record) != 0 && _held[tokenId] == 0) {
            _held[tokenId] = HELD_RESERVED;
        }
        _listings[tokenId] = price | (uint256(uint160(reservedFor)) << PRICE_BITS);
        emit Listed(tokenId, msg.sender, price, reservedFor);
    }

    function _cancelListing(uint256 tokenId) internal {
        uint256 record = _record(tokenId);
        if (address(uint160(record)) != msg.sender) revert NotTicketHolder(tokenId, msg.sender);
        if (_listings[tokenId] == 0) revert NotListed(tokenId);
        delete _listings[tokenId];
        emit ListingCancelled(tokenId);
    }

    function _buy(uint256 tokenId, bytes32 commitment) internal {
        uint256 packedListing = _listings[tokenId];
        if (packedListing == 0) revert NotListed(tokenId);
        _requireTaker(tokenId, address(uint160(packedListing >> PRICE_BITS)));
        _settleResale(tokenId, _record(tokenId), packedListing & ((1 << PRICE_BITS) - 1), commitment);
    }

    /// @dev The order the holder signed is `terms` with the ticket's current move count and the
    /// seller's current nonce: the signature (`r`, `vs`, EIP-2098) must be the holder's over it.
    function _buyWithOrder(OrderTerms calldata terms, bytes32 r, bytes32 vs, bytes32 commitment) internal {
        uint256 tokenId = terms.tokenId;
        uint256 record = _record(tokenId);
        address seller = address(uint160(record));
        uint256 price = terms.price;
        address reservedFor;
        assembly ("memory-safe") {
            // its low 160 bits, as hashed into the digest (no ABI re-validation to pay for)
            reservedFor := and(calldataload(add(terms, 0x40)), OWNER_MASK)
        }
        {
            bytes32 digest = _orderDigest(
                tokenId, price, reservedFor, _movesOf(record), (_holders[seller] >> 64) & NONCE_MASK, terms.deadline
            );
            if (block.timestamp > terms.deadline || _recover(digest, r, vs) != seller) revert InvalidOrder(tokenId);
        }
        if (price == 0 && reservedFor == address(0)) revert GiftNeedsRecipient();
        _requireTaker(tokenId, reservedFor);
        _settleResale(tokenId, record, price, commitment);
    }

    function _cancelAllOrders() internal {
        uint256 h = _holders[msg.sender];
        uint256 nonce = ((h >> 64) + 1) & NONCE_MASK; // 2**96 cancellations never happen
        _holders[msg.sender] = (h & ~(NONCE_MASK << 64)) | (nonce << 64);
        emit OrdersCancelled(msg.sender, nonce);
    }

    function _rotateCommitment(uint256 tokenId, bytes32 commitment) internal {
        uint256 record = _record(tokenId);
        if (address(uint160(record)) != msg.sender) revert NotTicketHolder(tokenId, msg.sender);
        if (!_resaleOpen(_tierWord(_tierIdOf(record)))) revert ResaleClosed(tokenId);
        _requireCommitment(commitment);
        _holdersChanged();
        emit CommitmentRotated(tokenId, commitment);
    }

    function _withdrawPending() internal {
        _enter();
        uint256 amount = _pending[msg.sender];
        uint256 h = _holders[msg.sender];
        uint256 owed = h >> OWED_SHIFT;
        if (amount + owed == 0) revert NothingToWithdraw();
        if (amount != 0) {
            _pending[msg.sender] = 0;
            _pendingTotal -= amount;
        }
        if (owed != 0) {
            _holders[msg.sender] = h & ~(NONCE_MASK << OWED_SHIFT);
            _heldTotal -= uint96(owed);
        }
        emit PendingWithdrawn(msg.sender, amount + owed);
        _sendValue(msg.sender, amount + owed);
        _exit();
    }

    function _claimRefund(uint256[] calldata tokenIds, address to) internal {
        if (!_cancelled) revert EventNotCancelled();
        uint256 deadline = refundDeadline();
        if (block.timestamp > deadline) revert RefundDeadlinePassed(deadline);
        if (to == address(0)) revert InvalidReceiver(to);
        _enter();
        uint256 total;
        for (uint256 i; i < tokenIds.length; ++i) {
            uint256 tokenId = tokenIds[i];
            uint256 record = _record(tokenId);
            if (address(uint160(record)) != msg.sender) revert NotTicketHolder(tokenId, msg.sender);
            // A card ticket bought on the market: the held price of its first sale pays its face
            // value into escrow here (a no-op for any other ticket).
            if (record & FLAG_PAID_IN_ETH == 0) record = _settleHeld(tokenId, record, false);
            if (record & FLAG_PAID_IN_ETH == 0) revert NotRefundable(tokenId);
            uint256 amount = _tiers[_tierIdOf(record)].faceValue;
            _update(address(0), tokenId, 1, record, VIA_BURN);
            emit RefundClaimed(tokenId, msg.sender, to, amount);
            total += amount;
        }
        if (total == 0) revert NothingToWithdraw();
        _escrow -= total;
        _sendValue(to, total);
        _exit();
    }

    function _fundGiftRefunds(uint256[] calldata tokenIds) internal {
        _onlyRole(ROLE_MINTER);
        if (!_cancelled) revert EventNotCancelled();
        uint256 deadline = refundDeadline();
        if (block.timestamp > deadline) revert RefundDeadlinePassed(deadline);
        uint256 total;
        for (uint256 i; i < tokenIds.length; ++i) {
            uint256 tokenId = tokenIds[i];
            uint256 record = _record(tokenId);
            // Once only: a funded ticket is escrow-backed like an ETH one. A ticket sold for a
            // price is refunded from the held price of its first sale instead.
            if (record & FLAG_PAID_IN_ETH != 0) revert PaidInEth(tokenId);
            if (record & FLAG_SOLD != 0) revert NotRefundable(tokenId);
            uint256 amount = _tiers[_tierIdOf(record)].faceValue;
            _tickets[tokenId] = record | FLAG_PAID_IN_ETH;
            emit RefundFunded(tokenId, amount);
            total += amount;
        }
        _collect(total);
        _escrow += total;
    }

    function _settleHeld(uint256[] calldata tokenIds) internal {
        _enter();
        for (uint256 i; i < tokenIds.length; ++i) {
            uint256 tokenId = tokenIds[i];
            // a held ticket has its own record (its sale wrote it), and is live: a burn settles first
            uint256 record = _tickets[tokenId];
            if (record & FLAG_HELD == 0) revert NothingToWithdraw();
            // Held until the card payment can no longer cost the organizer: the event happened,
            // or it was cancelled (then the face value goes to escrow for the holder's refund).
            if (!_cancelled && block.timestamp < _endsAt) revert StillHeld(tokenId);
            _settleHeld(tokenId, record, false);
        }
        _exit();
    }

    function _balanceOf(address owner) internal view returns (uint256) {
        if (owner == address(0)) revert InvalidParameter("owner");
        return _holders[owner] & BALANCE_MASK;
    }

    function _ownerOf(uint256 tokenId) internal view returns (address) {
        return address(uint160(_record(tokenId)));
    }

    function _transferFrom(address from, address to, uint256 tokenId) internal {
        uint256 record = _record(tokenId);
        address owner = address(uint160(record));
        if (owner != from) revert NotTicketHolder(tokenId, from);
        _update(to, tokenId, 1, record, VIA_TRANSFER); // a plain transfer never protects a card ticket
        // A plain transfer carries no commitment: the new holder sets one with rotateCommitment.
        emit CommitmentRotated(tokenId, bytes32(0));
    }

    function _safeTransferFrom(address from, address to, uint256 tokenId) internal {
        _safeTransferFrom(from, to, tokenId, "");
    }

    function _safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) internal {
        _transferFrom(from, to, tokenId);
        if (to.code.length > 0) {
            try IERC721Receiver(to).onERC721Received(msg.sender, from, tokenId, data) returns (bytes4 retval) {
                if (retval != IERC721Receiver.onERC721Received.selector) revert InvalidReceiver(to);
            } catch {
                revert InvalidReceiver(to);
            }
        }
    }

    function _approve(address to, uint256 tokenId) internal {
        if (_policy() != TransferPolicy.Free) revert TransferOutsideMarket();
        uint256 record = _record(tokenId);
        address owner = address(uint160(record));
        if (msg.sender != owner && !_operatorApprovals[owner][msg.sender]) revert NotAuthorized(tokenId, msg.sender);
        _tokenApprovals[tokenId] = uint256(uint160(to)) | (_movesOf(record) << 160);
        emit IERC721.Approval(owner, to, tokenId);
    }

    function _setApprovalForAll(address operator, bool approved) internal {
        if (_policy() != TransferPolicy.Free) revert TransferOutsideMarket();
        if (operator == address(0)) revert InvalidParameter("operator");
        _operatorApprovals[msg.sender][operator] = approved;
        emit IERC721.ApprovalForAll(msg.sender, operator, approved);
    }

    function _getApproved(uint256 tokenId) internal view returns (address) {
        uint256 record = _record(tokenId);
        uint256 approval = _tokenApprovals[tokenId];
        return (approval >> 160) == _movesOf(record) ? address(uint160(approval)) : address(0);
    }

    function _isApprovedForAll(address owner, address operator) internal view returns (bool) {
        return _operatorApprovals[owner][operator];
    }

    function _name() internal view returns (string memory) {
        return _tokenName;
    }

    function _symbol() internal view returns (string memory) {
        return _tokenSymbol;
    }

    /// @dev Tickets of one tier share one metadata file, `baseURI + tierId`: the organizer pins
    /// one small directory per event before the sale, and minting needs no IPFS work at all.
    function _tokenURI(uint256 tokenId) internal view returns (string memory) {
        uint256 tierId = _tierIdOf(_record(tokenId));
        string memory base = _baseURI;
        return bytes(base).length == 0 ? "" : string.concat(base, tierId.toString());
    }

    function _royaltyInfo(uint256 tokenId, uint256 salePrice) internal view returns (address, uint256) {
        (uint256 royalty,) = ResaleMath.split(salePrice, _tiers[_tierIdOf(_record(tokenId))].royaltyBps);
        return (_organizer, royalty);
    }

    /// @dev True exactly when a plain transfer by the holder would revert: always under
    /// MarketOnly and Locked, and under Free outside the tier's resale window.
    function _locked(uint256 tokenId) internal view returns (bool) {
        uint256 record = _record(tokenId);
        return _policy() != TransferPolicy.Free || !_resaleOpen(_tierWord(_tierIdOf(record)));
    }

    /// @inheritdoc ITicketEventViews
    function organizer() external view returns (address) {
        return _organizer;
    }

    /// @inheritdoc ITicketEventViews
    function rolesOf(address account) external view returns (uint256) {
        return _roles[account];
    }

    /// @inheritdoc ITicketEventViews
    function cancelled() external view returns (bool) {
        return _cancelled;
    }

    /// @inheritdoc ITicketEventViews
    function transferPolicy() external view returns (TransferPolicy) {
        return _policy();
    }

    /// @inheritdoc ITicketEventViews
    function schedule() external view returns (uint40, uint40) {
        return (_startsAt, _endsAt);
    }

    /// @inheritdoc ITicketEventViews
    function tierCount() external view returns (uint256) {
        return _tierCount;
    }

    /// @inheritdoc ITicketEventViews
    function tier(uint256 tierId) external view returns (Tier memory) {
        return _existingTier(tierId);
    }

    /// @inheritdoc ITicketEventViews
    function tierOf(uint256 tokenId) external view returns (uint256) {
        return _tierIdOf(_record(tokenId));
    }

    /// @inheritdoc ITicketEventViews
    function paidInEth(uint256 tokenId) external view returns (bool) {
        return _record(tokenId) & FLAG_PAID_IN_ETH != 0;
    }

    /// @inheritdoc ITicketEventViews
    function movesOf(uint256 tokenId) external view returns (uint256) {
        return _movesOf(_record(tokenId));
    }

    /// @inheritdoc ITicketEventViews
    function nextTokenId() external view returns (uint256) {
        return _nextTokenId;
    }

    /// @inheritdoc ITicketEventViews
    function resaleCap(uint256 tierId) external view returns (uint256) {
        Tier storage t = _existingTier(tierId);
        return ResaleMath.cap(t.faceValue, t.resaleCapBps);
    }

    /// @inheritdoc ITicketEventViews
    function listing(uint256 tokenId) external view returns (address, uint256, address) {
        uint256 packed = _listings[tokenId];
        if (packed == 0) return (address(0), 0, address(0));
        return (
            address(uint160(_record(tokenId))),
            packed & ((1 << PRICE_BITS) - 1),
            address(uint160(packed >> PRICE_BITS))
        );
    }

    /// @inheritdoc ITicketEventViews
    function orderNonce(address seller) external view returns (uint256) {
        return (_holders[seller] >> 64) & NONCE_MASK;
    }

    /// @inheritdoc ITicketEventViews
    function orderFulfilled(bytes32 orderRef) external view returns (bool) {
        return _fulfilledOrders[uint256(orderRef) >> 8] & (1 << (uint256(orderRef) & 0xff)) != 0;
    }

    /// @inheritdoc ITicketEventViews
    function currency() external view returns (address) {
        return _currencyOf();
    }

    /// @inheritdoc ITicketEventViews
    function escrowBalance() external view returns (uint256) {
        return _escrow;
    }

    /// @inheritdoc ITicketEventViews
    function royaltyBalance() external view returns (uint256) {
        return Settlement.balance(_currencyOf()) - _escrow - _pendingTotal - _heldTotal;
    }

    /// @inheritdoc ITicketEventViews
    function heldSale(uint256 tokenId) external view returns (address seller, uint256 price) {
        uint256 record = _tickets[tokenId];
        if (record & FLAG_HELD != 0) (seller, price) = (_heldSeller(tokenId), _tiers[_tierIdOf(record)].faceValue);
    }

    /// @inheritdoc ITicketEventViews
    function refundDeadline() public view returns (uint256) {
        return uint256(_endsAt) + REFUND_PERIOD;
    }

    /// @inheritdoc ITicketEventViews
    function pendingOf(address account) external view returns (uint256) {
        return _pending[account] + (_holders[account] >> OWED_SHIFT);
    }

    /// @inheritdoc ITicketEventViews
    function pendingOrganizer() external view returns (address) {
        return _pendingOrganizer;
    }

    /// @inheritdoc ITicketEventViews
    function isGateOperator(address account) external view returns (bool) {
        return account == _organizer || _roles[account] & ROLE_GATE != 0;
    }

    /// @inheritdoc ITicketEventViews
    function rootGracePeriod() external view returns (uint256) {
        return _rootGrace;
    }

    /// @inheritdoc ITicketEventViews
    function holdersChangedAt() external view returns (uint256) {
        return _holdersChangedAt;
    }

    function _storeTier(Tier calldata t) private returns (uint256 tierId) {
        if (t.supply == 0 || t.minted != 0) revert InvalidParameter("supply");
        if (t.royaltyBps > ResaleMath.BPS) revert InvalidParameter("royalty");
        if (t.resaleCapBps < ResaleMath.MIN_CAP_BPS || t.resaleCapBps > ResaleMath.MAX_CAP_BPS) {
            revert InvalidParameter("resale cap");
        }
        _requireWindow(t.resaleOpensAt, t.resaleClosesAt);
        uint256 total = uint256(_supplyTotal) + t.supply;
        if (total > MAX_TICKETS) revert InvalidParameter("supply");
        _supplyTotal = uint32(total);
        tierId = _tierCount;
        // Tier ids are 16 bits in every ticket record: one more would wrap and overwrite tier 0.
        if (tierId == type(uint16).max) revert InvalidParameter("tiers");
        _tierCount = uint16(tierId + 1);
        _tiers[tierId] = t;
        emit TierAdded(tierId, t);
    }

    function _storeRoles(address account, uint256 roles) private {
        _roles[account] = roles;
        emit RolesSet(account, roles);
    }

    function _existingTier(uint256 tierId) private view returns (Tier storage) {
        if (tierId >= _tierCount) revert UnknownTier(tierId);
        return _tiers[tierId];
    }

    function _recordMinted(Tier storage t, uint256 tierId, uint256 n) private {
        uint256 minted = t.minted;
        uint256 supply = t.supply;
        if (minted + n > supply) revert SoldOut(tierId, n, supply - minted);
        t.minted = uint24(minted + n);
    }

    /// @dev Run `k` of `runs`, read once: its holder, order ref, and its commitments as a calldata
    /// offset and length. Solidity re-validates a nested calldata array on every access; this
    /// checks each offset once, so that no offset can wrap around and every word read lies inside
    /// the calldata (a malformed encoding reverts without data, as the ABI decoder would).
    function _runAt(MintRun[] calldata runs, uint256 k)
        private
        pure
        returns (address holder, bytes32 ref, uint256 commitments, uint256 n)
    {
        uint256 bad;
        assembly ("memory-safe") {
            let size := calldatasize()
            let head := calldataload(add(runs.offset, shl(5, k)))
            let run := add(runs.offset, head)
            let tail := calldataload(add(run, 0x40))
            let array := add(run, tail)
            n := calldataload(array)
            commitments := add(array, 0x20)
            holder := calldataload(run)
            ref := calldataload(add(run, 0x20))
            bad := or(
                or(gt(head, size), gt(add(run, 0x60), size)),
                or(or(gt(tail, size), gt(n, MAX_RUN)), shr(160, holder))
            )
            bad := or(bad, gt(add(commitments, shl(5, n)), size))
        }
        if (bad != 0) {
            if (n > MAX_RUN) revert InvalidParameter("run longer than 1024 tickets");
            revert();
        }
    }

    /// @dev The calldata offset of an array's first element.
    function _offsetOf(bytes32[] calldata values) private pure returns (uint256 offset) {
        assembly ("memory-safe") {
            offset := values.offset
        }
    }

    /// @dev What `_mintRun` is told about a run besides its holder and tickets: the tier and flags
    /// of its record (one word, to keep `mintBatch`'s stack small).
    function _mintBits(uint256 tierId, uint256 flags) private view returns (uint256) {
        return (tierId << TIER_SHIFT) | flags;
    }

    /// @dev Issue `n` tickets from `first` to `to`, their commitments the `n` words at calldata
    /// offset `commitments`, `bits` from `_mintBits`: `_update` mints the run (the caller sets the
    /// run's bit in `_runStarts`); here each commitment is checked to be a non-zero field element
    /// (in assembly: with `_update`'s Transfer loop, this is the marginal cost of a ticket), and one
    /// `TicketsIssued` log carries the run, its data copied straight from calldata.
    function _mintRun(address to, uint256 bits, bytes32 orderRef, uint256 first, uint256 commitments, uint256 n)
        private
    {
        _update(to, first, n, bits, VIA_MARKET);
        uint256 tierId = _tierIdOf(bits);
        assembly ("memory-safe") {
            let end := add(commitments, shl(5, n))
            for { let ptr := commitments } lt(ptr, end) { ptr := add(ptr, 0x20) } {
                let c := calldataload(ptr)
                if or(iszero(c), iszero(lt(c, FIELD))) {
                    mstore(0x00, shl(224, INVALID_COMMITMENT_SELECTOR))
                    mstore(0x04, c)
                    revert(0x00, 0x24)
                }
            }
            // TicketsIssued(holder, tierId, orderRef, firstTokenId, commitments), encoded in the
            // free memory (not allocated: nothing else uses it before the log is written)
            let m := mload(0x40)
            let bytes_ := shl(5, n)
            mstore(m, first)
            mstore(add(m, 0x20), 0x40)
            mstore(add(m, 0x40), n)
            calldatacopy(add(m, 0x60), commitments, bytes_)
            log4(m, add(0x60, bytes_), TICKETS_ISSUED_EVENT, to, tierId, orderRef)
        }
    }

    /// @dev The ownership record of a live ticket: its own record once it has moved, else its run's.
    function _record(uint256 tokenId) private view returns (uint256 record) {
        record = _tickets[tokenId];
        if (record == 0) record = _mintRecord(tokenId);
        if (record & FLAG_BURNED != 0) revert NonexistentTicket(tokenId);
    }

    /// @dev The record a ticket was minted with (its first owner, tier and flags), from its run.
    function _mintRecord(uint256 tokenId) private view returns (uint256 record) {
        if (tokenId >= _nextTokenId) revert NonexistentTicket(tokenId);
        uint256 start = _runStart(tokenId);
        record = _runs[start];
        if (record & FLAG_DENSE != 0) {
            record ^= FLAG_DENSE;
            if (tokenId != start) record = (record & ~OWNER_MASK) | _packedOwner(tokenId);
        }
    }

    /// @dev The seller of a held first sale (FLAG_HELD): the ticket's first owner, unless the
    /// ticket had moved before that sale (then `_held` names the seller).
    function _heldSeller(uint256 tokenId) private view returns (address seller) {
        seller = address(uint160(_held[tokenId]));
        if (seller == address(0)) seller = address(uint160(_mintRecord(tokenId)));
    }

    /// @dev Put `owner` into ticket `id`'s 160 bits of `_packedOwners`, through `packer`: a word is
    /// read when the cursor enters it (it may hold an earlier batch's owners) and written when
    /// the cursor leaves it, so consecutive one-ticket runs write each word once.
    function _packOwner(OwnerPacker memory packer, uint256 id, address owner) private {
        uint256 position = id * OWNER_BITS;
        uint256 offset = position & 0xff;
        _packerAt(packer, position >> 8);
        packer.bits |= uint256(uint160(owner)) << offset;
        if (offset > 256 - OWNER_BITS) {
            _packerAt(packer, (position >> 8) + 1);
            packer.bits |= uint256(uint160(owner)) >> (256 - offset);
        }
    }

    function _packerAt(OwnerPacker memory packer, uint256 word) private {
        if (packer.word == word) return;
        if (packer.word != NO_WORD) _packedOwners[packer.word] = packer.bits;
        packer.word = word;
        packer.bits = _packedOwners[word];
    }

    /// @dev The owner of ticket `id` of a dense segment, from its 160 bits of `_packedOwners`.
    function _packedOwner(uint256 id) private view returns (uint256 owner) {
        uint256 position = id * OWNER_BITS;
        uint256 offset = position & 0xff;
        owner = _packedOwners[position >> 8] >> offset;
        if (offset > 256 - OWNER_BITS) owner |= _packedOwners[(position >> 8) + 1] << (256 - offset);
        owner &= OWNER_MASK;
    }

    /// @dev The first id of the run holding `tokenId`: the highest set bit at or below it.
    function _runStart(uint256 tokenId) private view returns (uint256) {
        uint256 word = tokenId >> 8;
        uint256 bits = _runStarts[word] & (type(uint256).max >> (~tokenId & 0xff));
        while (bits == 0) {
            unchecked {
                --word;
            }
            bits = _runStarts[word];
        }
        return (word << 8) | _log2(bits);
    }

    /// @dev The index of the highest set bit of `x` (non-zero): OpenZeppelin's Math.log2, inlined
    /// in assembly (every lookup of a never-moved ticket's run runs it).
    function _log2(uint256 x) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := shl(7, gt(x, 0xffffffffffffffffffffffffffffffff))
            r := or(r, shl(6, gt(shr(r, x), 0xffffffffffffffff)))
            r := or(r, shl(5, gt(shr(r, x), 0xffffffff)))
            r := or(r, shl(4, gt(shr(r, x), 0xffff)))
            r := or(r, shl(3, gt(shr(r, x), 0xff)))
            r := or(r, shl(2, gt(shr(r, x), 0xf)))
            r := or(r, byte(shr(r, x), 0x0000010102020202030303030303030300000000000000000000000000000000))
        }
    }

    function _tierIdOf(uint256 record) private pure returns (uint256) {
        return (record >> TIER_SHIFT) & 0xffff;
    }

    function _movesOf(uint256 record) private pure returns (uint256) {
        return (record >> MOVES_SHIFT) & 0xffffffff;
    }

    function _isApproved(uint256 tokenId, uint256 record, address spender) private view returns (bool) {
        uint256 approval = _tokenApprovals[tokenId];
        return address(uint160(approval)) == spender && (approval >> 160) == _movesOf(record);
    }

    /// @dev The storage word of tier `tierId` (a Tier fits one slot): the market reads the fields
    /// it needs with shifts, instead of copying the whole struct to memory (twice per sale).
    function _tierWord(uint256 tierId) private view returns (uint256 word) {
        assembly ("memory-safe") {
            mstore(0x00, tierId)
            mstore(0x20, _tiers.slot)
            word := sload(keccak256(0x00, 0x40))
        }
    }

    function _faceOf(uint256 tierWord) private pure returns (uint256) {
        return tierWord & ((1 << 96) - 1);
    }

    /// @dev `tierWord`'s resale window is open now.
    function _resaleOpen(uint256 tierWord) private view returns (bool) {
        return block.timestamp >= (tierWord >> OPENS_SHIFT) & ((1 << 40) - 1) && block.timestamp < tierWord >> CLOSES_SHIFT;
    }

    function _requireSalesOpen() private view {
        if (_cancelled) revert EventCancelled();
        if (block.timestamp >= _endsAt) revert SalesClosed();
    }

    function _requireCommitment(bytes32 commitment) private pure {
        if (commitment == bytes32(0) || uint256(commitment) >= FIELD) revert InvalidCommitment(commitment);
    }

    /// @dev Every market sale and gift ends here: cap, royalty, move, commitment, payment.
    function _settleResale(uint256 tokenId, uint256 record, uint256 price, bytes32 commitment) private {
        _collect(price);
        _requireCommitment(commitment);
        address seller = address(uint160(record));
        if (seller == msg.sender) revert SelfPurchase();
        uint256 t = _tierWord(_tierIdOf(record));
        {
            uint256 cap = ResaleMath.cap(_faceOf(t), (t >> CAP_BPS_SHIFT) & 0xffff);
            if (price > cap) revert PriceAboveCap(price, cap);
        }
        // a price at most a cap (below 2**97): splitBounded cannot overflow
        (uint256 royalty, uint256 proceeds) = ResaleMath.splitBounded(price, (t >> ROYALTY_BPS_SHIFT) & 0xffff);
        // Only a paid sale protects its buyer from a chargeback revocation; a gift does not (its
        // receiver paid nothing), or a card buyer could shield a ticket by gifting it to himself.
        // The first paid sale of a card ticket is at least at face value, and its face value is
        // held (see _hold).
        uint256 flags = price == 0 ? 0 : FLAG_SOLD;
        if (price != 0 && record & (FLAG_PAID_IN_ETH | FLAG_SOLD) == 0) {
            if (price < _faceOf(t)) revert PriceBelowFace(price, _faceOf(t));
            flags = FLAG_SOLD | FLAG_HELD;
        }
        _update(msg.sender, tokenId, 1, record | flags, VIA_MARKET);
        assembly ("memory-safe") {
            // Resold(tokenId, seller, buyer, price, royalty, commitment), in the free memory
            let m := mload(0x40)
            mstore(m, price)
            mstore(add(m, 0x20), royalty)
            mstore(add(m, 0x40), commitment)
            log4(m, 0x60, RESOLD_EVENT, tokenId, and(seller, OWNER_MASK), caller())
        }
        if (flags & FLAG_HELD == 0) _push(seller, proceeds);
        else _hold(tokenId, record, t, proceeds);
    }

    /// @dev The first paid sale of card ticket `tokenId` (`record` before it, `tierWord` its tier,
    /// `proceeds` the seller's share of the price): its face value is held (FLAG_HELD, set by the
    /// sale; see _settleHeld), so a chargeback of the card costs its payer the face value, not the
    /// organizer. The rest of the proceeds (the price above face, less its royalty) is the
    /// seller's at once, credited to its pull balance in its `_holders` word, which the sale has
    /// just written: the buyer pays for no slot of its own and no payment.
    function _hold(uint256 tokenId, uint256 record, uint256 tierWord, uint256 proceeds) private {
        uint256 face = _faceOf(tierWord);
        // the face value's own royalty is paid with it, by _settleHeld
        (, uint256 faceProceeds) = ResaleMath.splitBounded(face, (tierWord >> ROYALTY_BPS_SHIFT) & 0xffff);
        uint256 owed;
        unchecked {
            // proceeds >= faceProceeds: the price is at least face, and a royalty rounds down
            owed = proceeds - faceProceeds;
        }
        address seller = address(uint160(record));
        // the seller is the mint record's owner, unless the ticket moved before
        if (_movesOf(record) != 0) _held[tokenId] = uint256(uint160(seller));
        if (owed != 0) _holders[seller] += owed << OWED_SHIFT; // checked: the sum never wraps
        // _heldTotal += face + owed, reading its (warm, packed) slot once; every term is below
        // 2**97, so the sum cannot wrap and is checked against the field's 96 bits
        bool overflow;
        assembly ("memory-safe") {
            let shift := mul(8, _heldTotal.offset) // .offset is in bytes
            let word := sload(_heldTotal.slot)
            let total := add(add(and(shr(shift, word), 0xffffffffffffffffffffffff), face), owed)
            overflow := shr(96, total)
            word := and(word, not(shl(shift, 0xffffffffffffffffffffffff)))
            sstore(_heldTotal.slot, or(word, shl(shift, total)))
        }
        if (overflow) revert InvalidParameter("price");
    }

    /// @dev The one road out of the held face value of a card ticket's first sale for a price
    /// (FLAG_HELD in `record`; the seller had the rest of its proceeds at the sale). A chargeback
    /// of the card (`chargeback`) or a cancellation: the face value goes to the ticket's escrow
    /// (the ticket is then refundable and irrevocable like an ETH ticket; after a chargeback the
    /// organizer, who lost the card's face value, is made whole by it; after a cancellation it is
    /// the holder's refund, and the bridge refunds the card); the seller gets nothing more. After
    /// the event: an ordinary sale of the face value (its royalty to the organizer, the rest to
    /// the seller). Returns the record.
    function _settleHeld(uint256 tokenId, uint256 record, bool chargeback) private returns (uint256) {
        if (record & FLAG_HELD == 0) return record;
        record ^= FLAG_HELD;
        address seller = _heldSeller(tokenId);
        if (_held[tokenId] != 0) delete _held[tokenId];
        Tier storage t = _tiers[_tierIdOf(record)];
        uint256 face = t.faceValue;
        (uint256 toOrganizer, uint256 toSeller) = ResaleMath.split(face, t.royaltyBps);
        uint256 toEscrow;
        if (chargeback || _cancelled) {
            (toOrganizer, toSeller, toEscrow) = (0, 0, face);
            record |= FLAG_PAID_IN_ETH;
            _escrow += face;
        }
        _tickets[tokenId] = record;
        _heldTotal -= uint96(face);
        emit HeldSaleSettled(tokenId, seller, toSeller, toOrganizer, toEscrow);
        _push(seller, toSeller);
        return record;
    }

    /// @dev A listing or order reserved for someone (a gift always is) is taken by that
    /// externally owned account itself, never through a contract: a contract could take a gift
    /// and pay the seller any amount in the same transaction, which would lift the cap without
    /// trust between the parties.
    function _requireTaker(uint256 tokenId, address reservedFor) private view {
        if (reservedFor == address(0)) return;
        if (reservedFor != msg.sender) revert ReservedForAnother(tokenId, reservedFor);
        if (msg.sender != tx.origin) revert TakerNotExternallyOwned(msg.sender);
    }

    /// @dev The one road of every ticket, as OpenZeppelin's `_update`. A mint: `record` has no
    /// owner (it is the run's tier and flags) and `n` tickets from `tokenId` go to `to` as one run.
    /// Otherwise one live ticket (`record` its record, with any flag to add, e.g. FLAG_SOLD) moves
    /// to `to` by the road `via`, or is burned (VIA_BURN, `to` zero). Every rule about moves is
    /// here, once: the receiver, the transfer policy and the resale window (custody releases and
    /// burns are exempt: the bridge delivering a ticket, a revocation and a refund are not trades),
    /// who may make a plain transfer (the holder, its operator or the approved account), the
    /// ownership record (a move counts in it, which also voids token approvals), both balances, the
    /// listing, the holders-changed time that voids gate roots published before (a commitment left
    /// the tree), and the Transfer and ERC-5192 Locked events. The callers check what is theirs:
    /// the market its price, cap and payment; `transferFrom` its `from`. (`via` is ignored by a mint.)
    function _update(address to, uint256 tokenId, uint256 n, uint256 record, uint256 via) private {
        address from = address(uint160(record));
        if (from == address(0)) {
            if (to == address(0)) revert InvalidReceiver(to);
            if (n > MAX_RUN) revert InvalidParameter("run longer than 1024 tickets");
            // a ticket continuing a dense segment has its owner packed by mintBatch instead
            if (record & MINT_PACKED == 0) _runs[tokenId] = uint256(uint160(to)) | record;
            _holders[to] += n;
            assembly ("memory-safe") {
                let end := add(tokenId, n)
                for { let id := tokenId } lt(id, end) { id := add(id, 1) } {
                    log4(0, 0, TRANSFER_EVENT, 0, to, id)
                }
            }
            if (_policy() == TransferPolicy.Locked) {
                for (uint256 id = tokenId; id < tokenId + n; ++id) {
                    emit IERC5192.Locked(id);
                }
            }
            return;
        }
        if (via != VIA_BURN) {
            if (to == address(0)) revert InvalidReceiver(to);
            if (via != VIA_CUSTODY) {
                // the policy's number (no enum conversion: `_initialize` stored a valid one)
                uint256 policy = (_flags >> POLICY_SHIFT) & 3;
                if (policy == uint256(TransferPolicy.Locked)) revert TicketLocked(tokenId);
                if (via == VIA_TRANSFER) {
                    if (policy == uint256(TransferPolicy.MarketOnly)) revert TransferOutsideMarket();
                    if (!_resaleOpen(_tierWord(_tierIdOf(record)))) revert TicketLocked(tokenId);
                    if (
                        msg.sender != from && !_operatorApprovals[from][msg.sender]
                            && !_isApproved(tokenId, record, msg.sender)
                    ) revert NotAuthorized(tokenId, msg.sender);
                } else if (!_resaleOpen(_tierWord(_tierIdOf(record)))) {
                    revert ResaleClosed(tokenId);
                }
            }
            unchecked {
                // the move count is 32 bits: 2**32 moves never happen
                _tickets[tokenId] = ((record & ~(OWNER_MASK | FLAG_LISTED)) + ONE_MOVE) | uint256(uint160(to));
                // a balance is at most 2**20 (MAX_TICKETS): it never carries into the nonce
                _holders[to] += 1;
            }
        } else {
            _tickets[tokenId] = (record & ~FLAG_LISTED) | FLAG_BURNED;
        }
        unchecked {
            _holders[from] -= 1;
        }
        if (record & FLAG_LISTED != 0 && _listings[tokenId] != 0) delete _listings[tokenId];
        _holdersChanged();
        assembly ("memory-safe") {
            // Transfer(from, to, tokenId); an address variable's high bits are not cleaned here
            log4(0, 0, TRANSFER_EVENT, and(from, OWNER_MASK), and(to, OWNER_MASK), tokenId)
        }
    }

    function _policy() private view returns (TransferPolicy) {
        return TransferPolicy((_flags >> POLICY_SHIFT) & 3);
    }

    /// @dev A holder commitment left the gate tree: roots published until now lose their grace.
    function _holdersChanged() private {
        _holdersChangedAt = uint32(block.timestamp);
    }

    /// @dev A resale window opens before it closes and closes by doors: after doors no ticket may
    /// change holder or commitment, or it could enter, move, and enter again with a new secret.
    function _requireWindow(uint40 opensAt, uint40 closesAt) private view {
        if (opensAt > closesAt || closesAt > _startsAt) revert InvalidParameter("window");
    }

    // ---------------------------------------------------------------- money: one road (Settlement)

    /// @dev The event's currency: address(0) for ETH (from the warm flags slot), else the token.
    function _currencyOf() internal view returns (address) {
        return _flags & IN_TOKEN == 0 ? address(0) : _currency;
    }

    /// @dev Take `amount` from the caller in the event's currency (see Settlement.collect).
    function _collect(uint256 amount) private {
        Settlement.collect(_currencyOf(), msg.sender, amount);
    }

    /// @dev Pay without letting the receiver block the caller; on failure credit a pull balance.
    function _push(address to, uint256 amount) private {
        if (amount == 0) return;
        if (!Settlement.push(_currencyOf(), to, amount)) {
            _pending[to] += amount;
            _pendingTotal += amount;
            emit PaymentDeferred(to, amount);
        }
    }

    /// @dev Pay or revert (PaymentFailed): withdrawals and refunds.
    function _sendValue(address to, uint256 amount) private {
        Settlement.send(_currencyOf(), to, amount);
    }

    /// @dev The EIP-712 digest of a SellOrder in this event's domain (EIP712_NAME, EIP712_VERSION,
    /// this chain, this clone; TicketEvent's EIP712 announces it): `_hashTypedDataV4(hashStruct)`,
    /// in assembly, as every signed-order buy pays for it (a clone rebuilds the domain separator).
    function _orderDigest(
        uint256 tokenId,
        uint256 price,
        address reservedFor,
        uint256 moves,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32 digest) {
        bytes32 typeHash = SELL_ORDER_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f) // EIP712Domain typehash
            mstore(add(m, 0x20), 0x1e78d53a3b75086ede80726b5016974c13df9c4d4c46ec74598bd34bdc462f65) // keccak256(EIP712_NAME)
            mstore(add(m, 0x40), 0xc89efdaa54c0f20c7adf612882df0950f5a951637e0307cdcb4c672f298b8bc6) // keccak256(EIP712_VERSION)
            mstore(add(m, 0x60), chainid())
            mstore(add(m, 0x80), address())
            let domain := keccak256(m, 0xa0)
            mstore(m, typeHash)
            mstore(add(m, 0x20), tokenId)
            mstore(add(m, 0x40), price)
            mstore(add(m, 0x60), and(reservedFor, OWNER_MASK)) // an address variable may carry high bits
            mstore(add(m, 0x80), moves)
            mstore(add(m, 0xa0), nonce)
            mstore(add(m, 0xc0), deadline)
            let structHash := keccak256(m, 0xe0)
            mstore(m, 0x1901)
            mstore(add(m, 0x20), domain)
            mstore(add(m, 0x40), structHash)
            digest := keccak256(add(m, 0x1e), 0x42)
        }
    }

    /// @dev Who signed `digest`, from an EIP-2098 compact signature (`vs` = (v - 27) << 255 | s);
    /// zero when s is in the upper half of the curve order (EIP-2: no malleable twin) or the
    /// signature is invalid, which no seller matches.
    function _recover(bytes32 digest, bytes32 r, bytes32 vs) internal view returns (address signer) {
        assembly ("memory-safe") {
            let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            if iszero(gt(s, 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0)) {
                let m := mload(0x40)
                mstore(m, digest)
                mstore(add(m, 0x20), add(27, shr(255, vs)))
                mstore(add(m, 0x40), r)
                mstore(add(m, 0x60), s)
                // the precompile returns nothing for an invalid signature
                if staticcall(gas(), 1, m, 0x80, 0x00, 0x20) { signer := mul(mload(0x00), eq(returndatasize(), 0x20)) }
            }
        }
    }

    function _onlyOrganizer() private view {
        if (msg.sender != _organizer) revert MissingRole(msg.sender, 0);
    }

    /// @dev The organizer holds every role of its event.
    function _onlyRole(uint256 role) private view {
        if (msg.sender != _organizer && _roles[msg.sender] & role == 0) revert MissingRole(msg.sender, role);
    }

    /// @dev The reentrancy lock: in transient storage where the build's hardfork has it (cancun,
    /// `ReentrancyLock.TRANSIENT`), else the ENTERED bit of `_flags`. A compile-time constant: each
    /// build carries one branch only.
    function _enter() private {
        if (ReentrancyLock.TRANSIENT) {
            if (ReentrancyLock.locked()) revert Reentrancy();
            ReentrancyLock.lock();
        } else {
            uint8 flags = _flags;
            if (flags & ENTERED != 0) revert Reentrancy();
            _flags = flags | ENTERED;
        }
    }

    function _exit() private {
        if (ReentrancyLock.TRANSIENT) ReentrancyLock.unlock();
        else _flags &= ~ENTERED;
    }
}
