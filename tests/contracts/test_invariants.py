"""Stateful property test (hypothesis via brownie's ``state_machine``): random sequences of mint,
resent mint, purchase, list, buy, gift, plain transfer, cancel listing, revoke (a card
chargeback), resale windows, root publication, cancel event, the bridge's settlement of a
cancelled event's card tickets (card refund and revoke, or ``fundGiftRefunds``), refund, withdrawal
and attempts by non-holders, against a Python model that predicts every outcome (success or the
exact custom error) and every payment. The event's policy is Free, so plain transfers (which,
like gifts, never protect a card ticket) are in play; MarketOnly's refusals are tested in
test_policies. After every step:

* supply is never exceeded, per tier (minted == model, <= supply);
* no sale above the cap (every Resold event is checked against its tier's cap);
* every wei is accounted for: balance == escrow + pull balances + royalties + held face values,
  each equal to the model, and paid in == paid out + royalties + escrow + pull balances + held
  (a pull balance is the hostile holder's failed pushes, or what a seller's first sale of a card
  ticket left it beyond the held face value);
* only the holder or the market moves a ticket: ownerOf and balanceOf equal the model;
* a refund is paid once (RefundClaimed never repeats a ticket; its amount is the face value);
* no party gains value at another's expense (issue 9, items 1 and 2): a chargeback never leaves
  its card payer the ticket or the face value held from its sale (the payer keeps at most the
  price above face less its royalty, which the cap bounds), and gives the organizer back the
  face value it lost; a ticket sold for a price is never taken from its buyer; after a
  cancellation each ticket's face value goes back once to one party: the card payer (by the
  bridge: card tickets their payer still holds, which are revoked) or the current holder
  (on-chain: ETH tickets, card tickets bought on the market, whose held face value pays it, and
  card tickets given away, which the bridge funds); the organizer returns a card payment's face
  value at most once (a card refund, a chargeback or a funding);
* a replaced root published at or before the last change of holders (the model's own clock of
  sales, gifts, transfers and revocations) is never accepted (item 6);
* no resale window closes after doors, whatever the organizer asks (item 7);
* ``locked()`` is true exactly when a plain transfer by the holder fails (item 11).

At the end of every example the event is cancelled (if it was not), the bridge settles every card
ticket and every holder claims: then every ticket is burned, escrow and held face values are empty,
each holder at the cancellation was paid its face value once, and the contract keeps only the
royalties and the pull balances. In every other example one holder claims too late (after
``refundDeadline``, item 5): refused, and the organizer's withdrawal sweeps exactly its face values.

One holder is a HostileHolder that rejects ETH, so sellers' proceeds also take the pull path.
Effort is kept modest (examples x steps) so the suite stays within a few minutes on 2 cores.

The machine runs in both settlement currencies (the test is parametrized): ETH, and an ERC-20
token, TetherLikeToken (6 decimals, no boolean returned: SafeERC20), in which fans pay through
their allowance and the hostile holder is blocklisted by the token, so pushes to it fail and
defer as in ETH. Every wei above is then a unit of the token.

brownie 1.22.2's own ``brownie.test.state_machine`` cannot run here: its mypyc-compiled module
rejects the class it generates ("TypeError: brownie.test.stateful._BrownieStateMachine object
expected; got ...BrownieStateMachine"), even for a trivial rules class. This test does what that
helper does with hypothesis directly: a RuleBasedStateMachine whose every example starts by
reverting the chain to a snapshot taken after deployment.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

import brownie
import pytest
from hypothesis import seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from .conftest import tier
from .helpers import (
    DAY,
    ETHER,
    FREE,
    HOUR,
    ZERO_ADDRESS,
    commitment,
    commitments,
    model_cap,
    model_split,
    order_ref,
    reverts,
    warp,
)

TIERS = [
    # face, supply, cap bps, royalty bps
    (ETHER // 10, 12, 11_000, 500),
    (ETHER * 37 // 100 + 3, 4, 10_000, 750),  # an odd face value: rounding in every split
]
HOSTILE = 4  # index of the HostileHolder among the holders; fans are 0-3
# hypothesis 6.27 starts with tiny examples: 20 examples of at most 20 steps come to about 280
# steps in all, each example ending with a whole cancellation settled (teardown). Measured at load
# 20 on 2 cores: 132 s, against 80 s at load 16 before the teardown and the rules of items 5-11.
# derandomize makes them the same sequences every run (the seed follows this file's source, so an
# edit reshuffles them), so the check at the end that the run reached every path (sales, gifts,
# transfers, windows, held sales, chargebacks, fundings, sweeps, refunds) is stable.
SETTINGS = settings(max_examples=20, stateful_step_count=20, deadline=None, derandomize=True)
# derandomize derives the sequences from the machine's source, so any edit to the class below
# reshuffled which paths the examples reach. The seed is pinned instead (the one derandomize
# derived from this machine before it ran in two currencies): the same sequences in ETH and in
# the token, whatever is edited; change it only together with the coverage check at the end.
SEED = int(
    "28394498721489830795044215183894391610607901312317447326506270081725678497073012307175"
    "052472845291590981499440851823"
)

ACTOR = st.integers(min_value=0, max_value=3)
HOLDER = st.integers(min_value=0, max_value=HOSTILE)
TIER = st.integers(min_value=0, max_value=len(TIERS) - 1)
COUNT = st.integers(min_value=1, max_value=3)
PICK = st.integers(min_value=0, max_value=63)
# of the cap; 950 lies between face value and the cap of tier 0 (a card ticket's first paid sale
# must be at least at face value)
PRICE_PERMILLE = st.sampled_from([0, 1, 500, 950, 999, 1_000, 1_001, 1_200])
RESERVE = st.integers(min_value=-1, max_value=HOSTILE)  # -1: anyone
# resale windows the organizer may ask for, as (opens, closes) named relative to the schedule
WINDOW = st.sampled_from(["open", "not_yet", "over", "past_doors", "inverted", "to_doors"])


@dataclass
class Ticket:
    holder: int | None  # None once burned
    tier: int
    paid_in_eth: bool  # escrow holds its face value (ETH purchase, or a settled card sale)
    payer: int | None = None  # the card payer (the holder it was minted to); None: ETH
    sold: bool = False  # sold for a price at least once
    held: tuple[int, int] | None = None  # a card ticket's first paid sale: (seller, face held)
    charged_back: bool = False
    listing: tuple[int, int | None] | None = None  # (price, reserved holder index)


@dataclass
class Model:
    tickets: list[Ticket] = field(default_factory=list)
    minted: list[int] = field(default_factory=lambda: [0] * len(TIERS))
    refs: list[tuple[str, int]] = field(default_factory=list)  # fulfilled (ref, run length)
    cancelled: bool = False
    escrow: int = 0
    royalties: int = 0
    pending: int = 0  # the hostile seller's pull balance from failed pushes
    # per holder: the pull balance its first sales of card tickets left it (price less royalty,
    # less the held face value's own proceeds)
    owed: list[int] = field(default_factory=lambda: [0] * (HOSTILE + 1))
    paid_in: int = 0
    paid_out: int = 0
    held: int = 0  # sum of held face values
    settled_checked: int = 0
    refunded: set[int] = field(default_factory=set)
    revoked: set[int] = field(default_factory=set)  # burned by revoke
    card_refunded: set[int] = field(default_factory=set)  # by the bridge, to the card payer
    funded: set[int] = field(default_factory=set)  # given away: the bridge funded it on-chain
    settled_by_bridge: set[int] = field(default_factory=set)  # card tickets after a cancellation
    resold_checked: int = 0
    windows: list[tuple[int, int]] = field(default_factory=list)  # per tier: (opens, closes)
    windows_changed: bool = False
    roots: dict[int, int] = field(default_factory=dict)  # root -> when last published
    current_root: int | None = None
    holders_changed_at: int = 0  # when a ticket last changed holder or was revoked


@seed(SEED)
class TicketLedger(RuleBasedStateMachine):
    """Set the class attributes (contracts and accounts) before running it."""

    ticket = hostile = lens = organizer = minter = deployer = tgate = gate = schedule = None
    token = None  # the settlement token, None for ETH
    fans: list = []
    holders: list = []
    stats: Counter = Counter()  # what the examples did, over the whole run

    seed: Model = Model()  # the model of the chain state every example starts from

    def __init__(self):
        super().__init__()
        brownie.chain.revert()  # every example starts from the seeded event
        self.model = copy.deepcopy(self.seed)
        self.resold_events = []
        self.refund_events = []
        self.settle_events = []  # (HeldSaleSettled, was it a chargeback)

    # ------------------------------------------------------------------------- helpers

    def _token(self, pick, where=None):
        """A ticket id: among those matching `where` when any do (most picks), else any."""
        tickets = self.model.tickets
        if not tickets:
            return None
        matching = [i for i, t in enumerate(tickets) if where is None or where(t)]
        if matching and pick % 8:  # one pick in eight stays unconstrained (refusal paths)
            return matching[pick % len(matching)]
        return pick % len(tickets)

    def _value(self, amount):
        """The ETH sent with a payment of `amount`: all of it, or none in a token event (the
        contract takes the token through the payer's allowance)."""
        return amount if self.token is None else 0

    def _send(self, holder, fn, *args, value=0):
        """Call `fn` as holder index `holder` (the hostile one acts through its act())."""
        value = self._value(value)
        if holder == HOSTILE:
            return self.hostile.act(fn.encode_input(*args), {"from": self.deployer, "value": value})
        return fn(*args, {"from": self.holders[holder], "value": value})

    def _open(self, tier_id):
        """Whether the tier's resale window is open now (windows are hours from any boundary)."""
        opens, closes = self.model.windows[tier_id]
        return opens <= brownie.chain.time() < closes

    def _changed(self, tx):
        """A ticket changed holder (or was revoked): replaced roots up to now lose their grace."""
        self.model.holders_changed_at = tx.timestamp

    def _cap(self, tier_id):
        face, _, cap_bps, _ = TIERS[tier_id]
        return model_cap(face, cap_bps)

    def _record(self, tx):
        if "Resold" in tx.events:
            self.resold_events.extend(tx.events["Resold"])
        if "RefundClaimed" in tx.events:
            self.refund_events.extend(tx.events["RefundClaimed"])

    def _pay(self, to, amount):
        """The contract pushes `amount` to holder index `to`: the hostile one rejects it."""
        if to == HOSTILE and amount:
            self.stats["deferred"] += 1
            self.model.pending += amount
        else:
            self.model.paid_out += amount

    def _settle_held(self, tx, token, chargeback):
        """Model _settleHeld: the one road out of a held face value; checks the event."""
        m = self.model
        t = m.tickets[token]
        seller, face = t.held
        assert face == TIERS[t.tier][0]
        to_organizer, to_seller = model_split(face, TIERS[t.tier][3])
        to_escrow = 0
        if chargeback or m.cancelled:
            to_organizer, to_seller, to_escrow = 0, 0, face
            t.paid_in_eth = True
            m.escrow += face
        (event,) = [e for e in tx.events["HeldSaleSettled"] if e["tokenId"] == token]
        assert event["seller"] == self.holders[seller]
        assert (event["toSeller"], event["toOrganizer"], event["toEscrow"]) == (
            to_seller,
            to_organizer,
            to_escrow,
        )
        self.settle_events.append((event, chargeback, t.payer))
        m.held -= face
        m.royalties += to_organizer
        self._pay(seller, to_seller)
        t.held = None

    # ------------------------------------------------------------------------- minting

    @rule(holder=HOLDER, tier_id=TIER, n=COUNT, resend=st.booleans())
    def mint(self, holder, tier_id, n, resend):
        m = self.model
        if resend and m.refs:
            ref, n = m.refs[n % len(m.refs)]
        else:
            ref = order_ref()
        run = (self.holders[holder], ref, commitments(n))
        if m.cancelled:
            with reverts("EventCancelled"):
                self.ticket.mintBatch(tier_id, [run], {"from": self.minter})
            return
        already = any(ref == r for r, _ in m.refs)
        supply = TIERS[tier_id][1]
        if not already and m.minted[tier_id] + n > supply:
            with reverts("SoldOut", tier_id, n, supply - m.minted[tier_id]):
                self.ticket.mintBatch(tier_id, [run], {"from": self.minter})
            return
        tx = self.ticket.mintBatch(tier_id, [run], {"from": self.minter})
        if already:
            assert "OrderAlreadyFulfilled" in tx.events
            assert "TicketsIssued" not in tx.events
            return
        assert tx.events["TicketsIssued"]["firstTokenId"] == len(m.tickets)
        self.stats["mint"] += 1
        m.refs.append((ref, n))
        m.minted[tier_id] += n
        m.tickets.extend(Ticket(holder, tier_id, False, payer=holder) for _ in range(n))

    @rule(buyer=ACTOR, tier_id=TIER, n=COUNT)
    def purchase(self, buyer, tier_id, n):
        m = self.model
        face, supply = TIERS[tier_id][:2]
        call = lambda: self.ticket.purchase(  # noqa: E731
            tier_id, commitments(n), {"from": self.fans[buyer], "value": self._value(face * n)}
        )
        if m.cancelled:
            with reverts("EventCancelled"):
                call()
            return
        if m.minted[tier_id] + n > supply:
            with reverts("SoldOut", tier_id, n, supply - m.minted[tier_id]):
                call()
            return
        call()
        self.stats["purchase"] += 1
        m.minted[tier_id] += n
        m.tickets.extend(Ticket(buyer, tier_id, True) for _ in range(n))
        m.escrow += face * n
        m.paid_in += face * n

    # ------------------------------------------------------------------------- market

    def _expected_list_error(self, token, holder, price, reserved):
        t = self.model.tickets[token]
        if t.holder is None:
            return ("NonexistentTicket", token)
        if not self._open(t.tier):
            return ("ResaleClosed", token)
        cap = self._cap(t.tier)
        if price > cap:
            return ("PriceAboveCap", price, cap)
        if price == 0 and reserved is None:
            return ("GiftNeedsRecipient",)
        if reserved == holder:
            return ("SelfPurchase",)
        return None

    def _list(self, token, price, reserved):
        t = self.model.tickets[token]
        holder = t.holder if t.holder is not None else 0
        reserved_address = ZERO_ADDRESS if reserved is None else self.holders[reserved]
        error = self._expected_list_error(token, holder, price, reserved)
        if error:
            with reverts(*error):
                self._send(holder, self.ticket.list, token, price, reserved_address)
            return False
        self._send(holder, self.ticket.list, token, price, reserved_address)
        t.listing = (price, reserved)
        return True

    @rule(pick=PICK, permille=PRICE_PERMILLE, reserve=RESERVE)
    def list_ticket(self, pick, permille, reserve):
        token = self._token(pick, lambda t: t.holder is not None)
        if token is None:
            return
        cap = self._cap(self.model.tickets[token].tier)
        self._list(token, cap * permille // 1_000, None if reserve < 0 else reserve)

    def _buy(self, token, buyer):
        m = self.model
        t = m.tickets[token]
        if t.listing is None:
            with reverts("NotListed", token):
                self.ticket.buy(token, commitment(), {"from": self.fans[buyer], "value": 0})
            return
        price, reserved = t.listing
        call = lambda: self.ticket.buy(  # noqa: E731
            token, commitment(), {"from": self.fans[buyer], "value": self._value(price)}
        )
        if reserved is not None and reserved != buyer:
            with reverts("ReservedForAnother", token, self.holders[reserved]):
                call()
            return
        if t.holder == buyer:
            with reverts("SelfPurchase"):
                call()
            return
        if not self._open(t.tier):
            with reverts("ResaleClosed", token):
                call()
            return
        face = TIERS[t.tier][0]
        held = price > 0 and not t.paid_in_eth and not t.sold
        if held and price < face:
            with reverts("PriceBelowFace", price, face):
                call()
            return
        tx = call()
        self._record(tx)
        self._changed(tx)
        royalty, proceeds = model_split(price, TIERS[t.tier][3])
        assert tx.events["Resold"]["royalty"] == royalty
        self.stats["sale" if price else "gift"] += 1
        m.paid_in += price
        if held:  # the first paid sale of a card ticket: its face value is held
            self.stats["held"] += 1
            face_royalty, face_proceeds = model_split(face, TIERS[t.tier][3])
            t.held = (t.holder, face)
            m.held += face
            # the rest is the seller's now, as a pull balance; the organizer has the royalty of
            # the price above face now, the face value's own royalty when it is paid out
            m.owed[t.holder] += proceeds - face_proceeds
            m.royalties += royalty - face_royalty
            assert "PaymentDeferred" not in tx.events
        else:
            m.royalties += royalty
            if t.holder == HOSTILE and proceeds:
                assert tx.events["PaymentDeferred"]["amount"] == proceeds
            self._pay(t.holder, proceeds)
        t.holder, t.listing = buyer, None
        t.sold = t.sold or price > 0

    @rule(pick=PICK, buyer=ACTOR)
    def buy(self, pick, buyer):
        token = self._token(pick, lambda t: t.listing is not None)
        if token is not None:
            self._buy(token, buyer)

    @rule(pick=PICK, permille=PRICE_PERMILLE, buyer=ACTOR)
    def resell(self, pick, permille, buyer):
        """List for anyone and have `buyer` take it: the common path, made common."""
        token = self._token(pick, lambda t: t.holder is not None)
        if token is None:
            return
        cap = self._cap(self.model.tickets[token].tier)
        if self._list(token, cap * permille // 1_000, None):
            self._buy(token, buyer)

    @rule(pick=PICK, recipient=ACTOR)
    def gift(self, pick, recipient):
        token = self._token(pick, lambda t: t.holder is not None)
        if token is not None and self._list(token, 0, recipient):
            self._buy(token, recipient)

    @rule(pick=PICK)
    def cancel_listing(self, pick):
        token = self._token(pick, lambda t: t.listing is not None)
        if token is None:
            return
        t = self.model.tickets[token]
        if t.holder is None:
            with reverts("NonexistentTicket", token):
                self.ticket.cancelListing(token, {"from": self.fans[0]})
        elif t.listing is None:
            with reverts("NotListed", token):
                self._send(t.holder, self.ticket.cancelListing, token)
        else:
            self._send(t.holder, self.ticket.cancelListing, token)
            t.listing = None

    @rule(pick=PICK, actor=ACTOR)
    def non_holder_cannot_move(self, pick, actor):
        token = self._token(pick)
        if token is None:
            return
        t = self.model.tickets[token]
        if t.holder == actor:
            actor = (actor + 1) % 4
        fan = self.fans[actor]
        if t.holder is None:
            with reverts("NonexistentTicket", token):
                self.ticket.list(token, 0, fan, {"from": fan})
            return
        with reverts("NotTicketHolder", token, fan):
            self.ticket.list(token, 1, ZERO_ADDRESS, {"from": fan})
        error = ("NotAuthorized", token, fan) if self._open(t.tier) else ("TicketLocked", token)
        with reverts(*error):
            self.ticket.transferFrom(self.holders[t.holder], fan, token, {"from": fan})

    @rule(pick=PICK, to=HOLDER)
    def plain_transfer(self, pick, to):
        """A plain transfer by the holder (Free policy): like a gift, it never protects a card
        ticket. ``locked()`` must say beforehand whether it fails (ERC-5192, item 11)."""
        token = self._token(pick, lambda t: t.holder is not None)
        if token is None:
            return
        t = self.model.tickets[token]
        if t.holder is None:
            with reverts("NonexistentTicket", token):
                self.ticket.locked(token)
            return
        holder = self.holders[t.holder]
        locked = self.ticket.locked(token)
        assert locked == (not self._open(t.tier))
        if locked:
            with reverts("TicketLocked", token):
                self._send(t.holder, self.ticket.transferFrom, holder, self.holders[to], token)
            return
        tx = self._send(t.holder, self.ticket.transferFrom, holder, self.holders[to], token)
        assert bytes(tx.events["CommitmentRotated"]["commitment"]) == bytes(32)
        self.stats["transfer"] += 1
        self._changed(tx)
        t.holder, t.listing = to, None

    @rule(tier_id=TIER, which=WINDOW)
    def set_resale_window(self, tier_id, which):
        """The organizer moves a tier's resale window: never past doors (item 7)."""
        s, now = self.schedule, brownie.chain.time()
        opens, closes = {
            "open": (0, s.resale_closes),
            "not_yet": (now + DAY, s.resale_closes),
            "over": (0, now - HOUR),
            "past_doors": (0, s.starts + HOUR),
            "inverted": (now + DAY, now + HOUR),
            "to_doors": (now + DAY, s.starts),
        }[which]
        call = lambda: self.ticket.setResaleWindow(  # noqa: E731
            tier_id, opens, closes, {"from": self.organizer}
        )
        if self.model.cancelled:
            with reverts("EventCancelled"):
                call()
        elif opens > closes or closes > s.starts:
            with reverts("InvalidParameter", "window"):
                call()
        else:
            call()
            self.stats["window"] += 1
            self.model.windows[tier_id] = (opens, closes)
        self.model.windows_changed = True

    @rule(root=st.integers(min_value=1, max_value=2**64))
    def publish_root(self, root):
        """The gate publishes a new root: the previous one is replaced (item 6)."""
        tx = self.tgate.publishRoot(root, {"from": self.gate})
        if root != self.model.current_root:
            self.model.roots[root] = tx.timestamp
            self.model.current_root = root
            self.stats["root"] += 1

    # ------------------------------------------------------------------------- burning and money

    @rule(pick=PICK)
    def revoke_pick(self, pick):
        """A chargeback: the bridge revokes. After a cancellation the bridge has refunded the
        card of every ticket it settled, so only the others can still be charged back."""
        token = self._token(pick, lambda t: t.holder is not None and not t.paid_in_eth)
        if token is not None and token not in self.model.settled_by_bridge:
            self.revoke(token)

    def revoke(self, token):
        t = self.model.tickets[token]
        call = lambda: self.ticket.revoke([token], {"from": self.minter})  # noqa: E731
        if t.holder is None:
            with reverts("NonexistentTicket", token):
                call()
        elif t.paid_in_eth:
            with reverts("PaidInEth", token):
                call()
        elif not t.sold:  # never sold for a price (gifts and transfers included): burned
            self._changed(call())
            self.stats["revoke"] += 1
            self.model.revoked.add(token)
            # a chargeback (before a cancellation, or of a gift the bridge has not funded yet)
            t.holder, t.listing, t.charged_back = None, None, True
        elif self.model.cancelled or t.held is None:
            with reverts("NotAuthorized", token, self.minter):
                call()
        else:  # a chargeback of a ticket sold on the market: the buyer keeps it
            tx = call()
            self._changed(tx)
            self.stats["chargeback"] += 1
            t.charged_back = True
            self._settle_held(tx, token, chargeback=True)

    @rule(pick=PICK, buyer=ACTOR, permille=st.sampled_from([950, 1_000]))
    def sell_card_ticket_then_charge_back(self, pick, buyer, permille):
        """A card ticket's first paid sale, then the chargeback of its card (issue 9, item 1)."""
        token = self._token(pick, lambda t: t.holder is not None and t.payer is not None)
        if token is None:
            return
        t = self.model.tickets[token]
        if not t.sold and t.holder is not None:
            cap = self._cap(t.tier)
            if self._list(token, cap * permille // 1_000, None):
                self._buy(token, buyer)
        self.revoke(token)

    @rule()
    def cancel_event(self):
        if self.model.cancelled:
            with reverts("EventCancelled"):
                self.ticket.cancel({"from": self.organizer})
            return
        tx = self.ticket.cancel({"from": self.organizer})
        self.model.cancelled = True
        now = tx.timestamp  # every window closes now (one still to open opens and closes now)
        self.model.windows = [(min(o, now), min(c, now)) for o, c in self.model.windows]

    def _bridge_settles(self, tokens):
        """The bridge after a cancellation (api.services.refunds), for these card tickets: a
        ticket sold for a price: the card is refunded (its holder claims from the held price); one
        its payer still holds: the card is refunded and the ticket revoked; one given away: the
        face value is funded on-chain (``fundGiftRefunds``) and the card is not refunded."""
        m = self.model
        burn, fund = [], []
        for token in tokens:
            t = m.tickets[token]
            if t.payer is None or t.charged_back or token in m.settled_by_bridge:
                continue
            if token in m.funded or (t.paid_in_eth and not t.sold):
                continue
            m.settled_by_bridge.add(token)
            if t.sold:
                m.card_refunded.add(token)
            elif t.holder is None:
                continue
            elif t.holder == t.payer:
                m.card_refunded.add(token)
                burn.append(token)
            else:
                fund.append(token)
        if burn:
            self._changed(self.ticket.revoke(burn, {"from": self.minter}))
            for token in burn:
                m.revoked.add(token)
                m.tickets[token].holder, m.tickets[token].listing = None, None
            self.stats["bridge_revoke"] += len(burn)
        if fund:
            total = sum(TIERS[m.tickets[token].tier][0] for token in fund)
            tx = self.ticket.fundGiftRefunds(
                fund, {"from": self.minter, "value": self._value(total)}
            )
            assert [e["tokenId"] for e in tx.events["RefundFunded"]] == fund
            for token in fund:
                m.funded.add(token)
                m.tickets[token].paid_in_eth = True
            m.escrow += total
            m.paid_in += total
            self.stats["funded"] += len(fund)

    @rule(pick=PICK)
    def bridge_settles_one(self, pick):
        if not self.model.cancelled:
            return
        token = self._token(pick, lambda t: t.payer is not None and t.holder is not None)
        if token is not None:
            self._bridge_settles([token])

    @rule(pick=PICK)
    def fund_gift_refunds_refused(self, pick):
        """``fundGiftRefunds`` of anything but a cancelled event's live card ticket never sold and
        not yet funded is refused, and funds nothing."""
        token = self._token(pick)
        if token is None:
            return
        m = self.model
        t = m.tickets[token]
        face = TIERS[t.tier][0]
        call = lambda: self.ticket.fundGiftRefunds(  # noqa: E731
            [token], {"from": self.minter, "value": self._value(face)}
        )
        if not m.cancelled:
            error = ("EventNotCancelled",)
        elif t.holder is None:
            error = ("NonexistentTicket", token)
        elif t.paid_in_eth:
            error = ("PaidInEth", token)
        elif t.sold:
            error = ("NotRefundable", token)
        else:
            return  # it would succeed: only the bridge's rule funds
        with reverts(*error):
            call()

    @rule(pick=PICK)
    def claim_refund(self, pick):
        m = self.model
        token = self._token(
            pick, lambda t: (t.paid_in_eth or t.held is not None) and t.holder is not None
        )
        if token is None:
            return
        t = m.tickets[token]
        holder = t.holder if t.holder is not None else 0
        call = lambda: self._claim(holder, [token])  # noqa: E731
        if not m.cancelled:
            with reverts("EventNotCancelled"):
                call()
        elif t.holder is None:
            with reverts("NonexistentTicket", token):  # a second claim finds it burned
                call()
        elif not t.paid_in_eth and t.held is None:
            with reverts("NotRefundable", token):
                call()
        else:
            self._claimed(call(), holder, [token])

    def _claim(self, holder, tokens):
        to = self.fans[0] if holder == HOSTILE else self.holders[holder]  # a named recipient
        return self._send(holder, self.ticket.claimRefund, tokens, to)

    def _claimed(self, tx, holder, tokens):
        """Model a successful claim of `tokens` by holder index `holder`."""
        m = self.model
        self._record(tx)
        to = self.fans[0] if holder == HOSTILE else self.holders[holder]
        for token in tokens:
            t = m.tickets[token]
            assert token not in m.refunded
            if t.held is not None:  # a card ticket bought on the market
                self.stats["held_refund"] += 1
                self._settle_held(tx, token, chargeback=False)
            if token in m.funded:
                self.stats["funded_refund"] += 1
            face = TIERS[t.tier][0]
            (event,) = [e for e in tx.events["RefundClaimed"] if e["tokenId"] == token]
            assert (event["to"], event["amount"]) == (to, face)
            self.stats["refund"] += 1
            m.refunded.add(token)
            m.escrow -= face
            m.paid_out += face
            t.holder, t.listing = None, None

    @rule(pick=PICK)
    def cancel_and_refund(self, pick):
        """Cancel (when not yet) and claim one refund: refunds need both, in this order."""
        if not self.model.cancelled:
            self.cancel_event()
        self.claim_refund(pick)

    @rule()
    def withdraw_royalties(self):
        m = self.model
        call = lambda: self.ticket.withdrawProceeds(self.organizer, {"from": self.organizer})  # noqa: E731
        if m.royalties == 0:
            with reverts("NothingToWithdraw"):
                call()
            return
        tx = call()
        assert tx.events["ProceedsWithdrawn"]["royalties"] == m.royalties
        assert tx.events["ProceedsWithdrawn"]["escrow"] == 0  # the event has not ended
        m.paid_out += m.royalties
        m.royalties = 0

    # ------------------------------------------------------------------------- invariants

    @invariant()
    def chain_matches_model(self):
        """One eth_call (TicketLens.summary) reads all the chain state compared here, instead of
        nine round trips per step."""
        self.stats["checks"] += 1  # one per step (and one per example start)
        chain = self.lens.summary(self.ticket, self.holders, len(self.model.tickets), len(TIERS))
        self._supply_never_exceeded(chain)
        self._every_wei_accounted_for(chain)
        self._only_holder_or_market_moves_tickets(chain)

    def _supply_never_exceeded(self, chain):
        minted = chain[3]
        for tier_id, (_, supply, _, _) in enumerate(TIERS):
            assert minted[tier_id] == self.model.minted[tier_id] <= supply

    @invariant()
    def no_sale_above_cap(self):
        for event in self.resold_events[self.model.resold_checked :]:
            tier_id = self.model.tickets[event["tokenId"]].tier
            assert event["price"] <= self._cap(tier_id)
            assert event["royalty"] == model_split(event["price"], TIERS[tier_id][3])[0]
        self.model.resold_checked = len(self.resold_events)

    def _every_wei_accounted_for(self, chain):
        m = self.model
        _, _, pending, _, (escrow, royalties, balance, _) = chain
        assert balance == escrow + sum(pending) + royalties + m.held
        assert (escrow, royalties) == (m.escrow, m.royalties)
        # fans are EOAs: pushes to them land; their pull balances are what first sales left them
        assert list(pending) == [*m.owed[:HOSTILE], m.owed[HOSTILE] + m.pending]
        owed = sum(m.owed)
        assert m.paid_in == m.paid_out + m.royalties + m.escrow + m.pending + owed + m.held
        assert m.paid_in == m.paid_out + balance

    def _only_holder_or_market_moves_tickets(self, chain):
        tickets = self.model.tickets
        owners, balances, _, _, (_, _, _, next_id) = chain
        expected = [ZERO_ADDRESS if t.holder is None else self.holders[t.holder] for t in tickets]
        assert list(owners) == expected
        counts = [sum(t.holder == h for t in tickets) for h in range(len(self.holders))]
        assert list(balances) == counts
        assert next_id == len(tickets)

    @invariant()
    def no_party_gains_at_anothers_expense(self):
        m = self.model
        for event, chargeback, payer in self.settle_events[m.settled_checked :]:
            t = m.tickets[event["tokenId"]]
            face = TIERS[t.tier][0]
            # what a card ticket's first paid sale held is its face value
            assert event["toSeller"] + event["toOrganizer"] + event["toEscrow"] == face
            assert event["toEscrow"] == face  # the face value backs the holder (never twice)
            if chargeback:
                # the chargeback's payer gets none of the held face value; the organizer, who
                # lost the card's face value, has it back in the ticket's escrow
                assert event["toSeller"] == 0
                assert payer is not None  # a card ticket
        m.settled_checked = len(self.settle_events)
        for token, t in enumerate(m.tickets):
            # a ticket sold for a price is never taken from its buyer
            assert not (t.sold and token in m.revoked)
            # after a cancellation a face value goes back once per payment: an on-chain refund
            # only for a ticket whose escrow or held face value pays it
            assert not (token in m.refunded and token in m.revoked)
            if token in m.refunded and token in m.card_refunded:
                assert t.sold  # the holder's refund comes from its market buyer's price

    @invariant()
    def organizer_returns_a_card_payment_once(self):
        for token, t in enumerate(self.model.tickets):
            if t.payer is None:
                assert token not in self.model.funded and token not in self.model.card_refunded
                continue
            returned = (token in self.model.card_refunded) + t.charged_back
            assert returned + (token in self.model.funded) <= 1, token

    @invariant()
    def stale_roots_are_refused(self):
        """Item 6: a replaced root published at or before the last change of holders is never
        accepted, by the model's own clock of changes (not the contract's)."""
        m = self.model
        replaced = sorted(
            (published, root) for root, published in m.roots.items() if root != m.current_root
        )
        for published, root in replaced[-3:]:  # the latest few
            if published <= m.holders_changed_at:
                assert not self.tgate.isAcceptedRoot(root), (root, published)

    @invariant()
    def no_window_past_doors(self):
        """Item 7: read from the chain, whatever the organizer asked."""
        if not self.model.windows_changed:
            return
        self.model.windows_changed = False
        for tier_id in range(len(TIERS)):
            closes = self.ticket.tier(tier_id)[6]
            assert closes <= self.schedule.starts
            assert (self.ticket.tier(tier_id)[5], closes) == self.model.windows[tier_id]

    def teardown(self):
        """Cancel, let the bridge settle every card ticket and every holder claim: then the whole
        value is back with its owners, each once. When one holder misses the refund deadline
        (item 5), the organizer sweeps exactly its face values and nothing else is stuck."""
        m = self.model
        if not m.cancelled:
            self.cancel_event()
        self._bridge_settles(range(len(m.tickets)))
        by_holder: dict[int, list[int]] = {}
        for token, t in enumerate(m.tickets):
            if t.holder is not None:
                assert t.paid_in_eth or t.held is not None, token  # every live ticket claimable
                by_holder.setdefault(t.holder, []).append(token)
        # every other example (by the parity of its ticket count, so that no extra rule changes
        # the derandomized sequences), one holder misses the refund deadline
        late = min(by_holder) if len(m.tickets) % 2 and by_holder else None
        for holder, tokens in by_holder.items():
            if holder != late:
                self._claimed(self._claim(holder, tokens), holder, tokens)
        if late is not None:
            self._miss_the_deadline(late, by_holder[late])
        self.chain_matches_model()
        self.organizer_returns_a_card_payment_once()
        assert m.escrow == m.held == 0
        unclaimed = set(by_holder.get(late, [])) if late is not None else set()
        assert all(t.holder is None for i, t in enumerate(m.tickets) if i not in unclaimed)
        for token, t in enumerate(m.tickets):
            if token in unclaimed:  # swept: its face value went to the organizer
                assert token not in m.refunded
            elif t.payer is None:
                assert token in m.refunded  # an ETH ticket's holder, on-chain
            elif token in m.funded:
                assert token in m.refunded and token not in m.card_refunded
            elif token in m.revoked:
                # a chargeback, or the payer held it: the payer got the face value, once
                assert t.charged_back != (token in m.card_refunded)
            else:  # sold: its holder from the held face value (or the escrow a chargeback left)
                assert t.sold and token in m.refunded
        self.stats["teardown"] += 1

    def _miss_the_deadline(self, holder, tokens):
        """Past ``refundDeadline`` the late holder's claim is refused; anyone settles their held
        sales, and the organizer's withdrawal sweeps the unclaimed escrow with the royalties."""
        m = self.model
        deadline = self.ticket.refundDeadline()
        warp(deadline + 1)
        with reverts("RefundDeadlinePassed", deadline):
            self._claim(holder, tokens)
        held = [token for token in tokens if m.tickets[token].held is not None]
        if held:
            tx = self.ticket.settleHeld(held, {"from": self.fans[0]})
            for token in held:
                self._settle_held(tx, token, chargeback=False)
        tx = self.ticket.withdrawProceeds(self.organizer, {"from": self.organizer})
        swept = sum(TIERS[m.tickets[token].tier][0] for token in tokens)
        assert m.escrow == swept
        assert (
            tx.events["ProceedsWithdrawn"]["royalties"],
            tx.events["ProceedsWithdrawn"]["escrow"],
        ) == (
            m.royalties,
            swept,
        )
        m.paid_out += m.royalties + swept
        m.royalties = m.escrow = 0
        self.stats["swept"] += 1

    @invariant()
    def refund_paid_once(self):
        tokens = [e["tokenId"] for e in self.refund_events]
        assert len(tokens) == len(set(tokens)) == len(self.model.refunded)
        for event in self.refund_events:
            assert event["amount"] == TIERS[self.model.tickets[event["tokenId"]].tier][0]


@pytest.mark.parametrize("currency", ["eth", "token"])
def test_ticket_ledger_invariants(
    create_event,
    gate_of,
    HostileHolder,
    TicketLens,
    TetherLikeToken,
    fans,
    organizer,
    minter,
    gate,
    deployer,
    schedule,
    currency,
):
    tiers = [
        tier(face, supply, cap, royalty, closes=schedule.resale_closes)
        for face, supply, cap, royalty in TIERS
    ]
    token = TetherLikeToken.deploy({"from": deployer}) if currency == "token" else None
    ticket = create_event(tiers=tiers, policy=FREE, currency=token or ZERO_ADDRESS)
    hostile = HostileHolder.deploy(ticket, {"from": deployer})
    hostile.configure(b"", True, {"from": deployer})  # rejects every payment
    if token is not None:
        # everyone pays through an allowance; the hostile holder pays its one purchase below,
        # then the token refuses payments to it, as its receive() refuses ETH
        for payer in [*fans, minter]:  # the bridge funds gift refunds in the token too
            token.mint(payer, 1_000 * ETHER, {"from": deployer})
            token.approve(ticket, 2**256 - 1, {"from": payer})
        token.mint(hostile, TIERS[0][0], {"from": deployer})
        hostile.actOn(token, token.approve.encode_input(ticket, 2**256 - 1), {"from": deployer})
    TicketLedger.ticket, TicketLedger.hostile, TicketLedger.token = ticket, hostile, token
    TicketLedger.lens = TicketLens.deploy({"from": deployer})
    TicketLedger.fans, TicketLedger.holders = fans, [*fans, hostile]
    TicketLedger.organizer, TicketLedger.minter, TicketLedger.deployer = organizer, minter, deployer
    TicketLedger.tgate, TicketLedger.gate, TicketLedger.schedule = gate_of(ticket), gate, schedule
    # Seed a market once, before the snapshot, so every example starts with tickets: card runs
    # for a fan and the hostile holder, ETH purchases for two other fans and for the hostile
    # holder (listed at the cap: its sale is paid at once, so the push to it fails and defers).
    TicketLedger.stats.clear()
    seeding = TicketLedger.__new__(TicketLedger)
    seeding.model, seeding.resold_events, seeding.refund_events = Model(), [], []
    seeding.model.windows = [(0, schedule.resale_closes)] * len(TIERS)
    seeding.settle_events = []
    TicketLedger.mint(seeding, holder=0, tier_id=0, n=2, resend=False)
    TicketLedger.mint(seeding, holder=HOSTILE, tier_id=0, n=2, resend=False)
    TicketLedger.purchase(seeding, buyer=2, tier_id=0, n=1)
    TicketLedger.purchase(seeding, buyer=3, tier_id=1, n=1)
    face = TIERS[0][0]
    hostile.act(
        ticket.purchase.encode_input(0, commitments(1)),
        {"from": deployer, "value": seeding._value(face)},
    )
    if token is not None:
        token.setBlocked(hostile, True, {"from": deployer})
    seeding.model.tickets.append(Ticket(HOSTILE, 0, True))
    seeding.model.minted[0] += 1
    seeding.model.escrow += face
    seeding.model.paid_in += face
    TicketLedger._list(seeding, token=6, price=TicketLedger._cap(seeding, 0), reserved=None)
    TicketLedger.seed = seeding.model
    brownie.chain.snapshot()
    run_state_machine_as_test(TicketLedger, settings=SETTINGS)
    # The run must have exercised the paths the invariants are about.
    for what in (
        *("mint", "purchase", "sale", "gift", "transfer", "refund", "deferred", "held"),
        *("chargeback", "bridge_revoke", "funded", "funded_refund", "window", "root", "teardown"),
        "swept",
    ):
        assert TicketLedger.stats[what] > 0, (what, dict(TicketLedger.stats))
