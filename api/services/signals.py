"""Scalping and fraud signals, each with the evidence behind it.

Input is what the bridge sees of an event (:class:`MarketView`): primary sales (wallet, tier,
tickets, time, transaction), resales and gifts (ticket, seller, buyer, price, time), card orders
(the client that sent them, tier, tickets, time), the tiers' caps, and card chargebacks per tier.
:func:`detect` returns one :class:`Signal` per suspect (a wallet, a client, a tier) and kind:

- ``accumulating``: a wallet with many separate purchases, or many tickets across tiers;
- ``quick_flip``: tickets resold at (or within 5 % of) the cap within an hour of being bought;
- ``ring``: wallets passing tickets among themselves: a ticket that comes back to a wallet it
  left, or a cycle in the graph of who sold to whom (strongly connected, three or more wallets);
- ``order_burst``: many card orders from one client within a few minutes;
- ``chargebacks``: a tier whose card chargeback rate is well above the usual.

Thresholds are module constants, chosen on the planted scenario of :mod:`api.simulation` and
kept loose enough that a fan buying for friends, reselling once below the cap or gifting a
ticket is not flagged (the benchmark measures precision and recall: scripts/bench_dashboard.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ACCUMULATE_PURCHASES = 4  # separate purchases by one wallet
ACCUMULATE_TICKETS = 12  # or tickets across two or more tiers
FLIP_WINDOW_S = 3600.0
FLIP_CAP_SHARE = 0.95
BURST_WINDOW_S = 300.0
BURST_ORDERS = 6
CHARGEBACK_RATE = 0.05
CHARGEBACK_MIN_ORDERS = 20


@dataclass(frozen=True)
class Signal:
    kind: str
    subject: str  # a wallet, a client, or "tier N"
    score: float  # how strong, for ordering (1 = at the threshold)
    evidence: str  # one sentence a person can check

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class MarketView:
    sales: list[dict[str, Any]] = field(
        default_factory=list
    )  # wallet, tier, quantity, t, tx, token
    resales: list[dict[str, Any]] = field(default_factory=list)  # token, seller, buyer, price, t
    orders: list[dict[str, Any]] = field(default_factory=list)  # client, tier, quantity, t
    token_tier: dict[int, int] = field(default_factory=dict)
    caps: dict[int, int] = field(default_factory=dict)  # tier -> cap (wei)
    chargebacks: dict[int, tuple[int, int]] = field(default_factory=dict)  # tier -> (cb, paid)


def _short(address: str) -> str:
    return address if len(address) < 20 else f"{address[:6]}…{address[-4:]}"


def accumulating(view: MarketView) -> list[Signal]:
    purchases: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sale in view.sales:
        purchases[str(sale["wallet"])].append(sale)
    out = []
    for wallet, rows in purchases.items():
        tickets = sum(int(r["quantity"]) for r in rows)
        tiers = {r["tier"] for r in rows}
        many_orders = len(rows) >= ACCUMULATE_PURCHASES
        many_tickets = tickets >= ACCUMULATE_TICKETS and len(tiers) >= 2
        if many_orders or many_tickets:
            score = max(len(rows) / ACCUMULATE_PURCHASES, tickets / ACCUMULATE_TICKETS)
            out.append(Signal("accumulating", wallet, round(score, 2),
                f"{len(rows)} purchases, {tickets} tickets in tier(s) "
                f"{', '.join(str(t) for t in sorted(tiers))}"))  # fmt: skip
    return out


def quick_flips(view: MarketView) -> list[Signal]:
    bought: dict[int, tuple[str, float]] = {}  # token -> (holder, when they got it)
    for sale in view.sales:
        first = int(sale.get("token") or 0)
        for token in range(first, first + int(sale["quantity"])):
            bought[token] = (str(sale["wallet"]), float(sale["t"]))
    flips: dict[str, list[str]] = defaultdict(list)
    for r in sorted(view.resales, key=lambda r: float(r["t"])):
        token = int(r["token"])
        holder = bought.get(token)
        cap = view.caps.get(view.token_tier.get(token, -1))
        price = int(r["price"])
        if holder and holder[0] == r["seller"] and cap and price >= FLIP_CAP_SHARE * cap:
            held = float(r["t"]) - holder[1]
            if held <= FLIP_WINDOW_S:
                flips[str(r["seller"])].append(
                    f"#{token} after {held / 60:.0f} min at {price / cap:.0%} of cap"
                )
        bought[token] = (str(r["buyer"]), float(r["t"]))
    return [
        Signal("quick_flip", seller, float(len(items)),
               f"{len(items)} ticket(s) resold at the cap within an hour: " + "; ".join(items[:3]))
        for seller, items in flips.items()
    ]  # fmt: skip


def rings(view: MarketView) -> list[Signal]:
    """Wallets in a cycle of resales/gifts (Tarjan's strongly connected components, >= 3
    wallets), and tickets that came back to a wallet they left."""
    edges: dict[str, set[str]] = defaultdict(set)
    returned: dict[str, list[int]] = defaultdict(list)
    holders: dict[int, list[str]] = defaultdict(list)
    for r in sorted(view.resales, key=lambda r: float(r["t"])):
        seller, buyer, token = str(r["seller"]), str(r["buyer"]), int(r["token"])
        edges[seller].add(buyer)
        if not holders[token]:
            holders[token].append(seller)
        if buyer in holders[token]:
            returned[buyer].append(token)
        holders[token].append(buyer)
    flagged: dict[str, str] = {}
    for component in _strongly_connected(edges):
        if len(component) >= 3:
            members = ", ".join(_short(w) for w in sorted(component)[:5])
            for wallet in component:
                flagged[wallet] = (
                    f"passes tickets in a cycle of {len(component)} wallets: {members}"
                )
    for wallet, tokens in returned.items():
        flagged.setdefault(
            wallet, f"ticket(s) {', '.join(f'#{t}' for t in tokens[:3])} came back to it"
        )
    return [Signal("ring", w, 1.0, why) for w, why in flagged.items()]


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = [0]
    nodes = set(edges) | {b for bs in edges.values() for b in bs}
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                out.append(component)
    return out


def order_bursts(view: MarketView) -> list[Signal]:
    by_client: dict[str, list[float]] = defaultdict(list)
    for order in view.orders:
        by_client[str(order["client"])].append(float(order["t"]))
    out = []
    for client, times in by_client.items():
        times.sort()
        best = 0
        j = 0
        for i, t in enumerate(times):
            while t - times[j] > BURST_WINDOW_S:
                j += 1
            best = max(best, i - j + 1)
        if best >= BURST_ORDERS:
            out.append(Signal("order_burst", client, round(best / BURST_ORDERS, 2),
                f"{best} card orders within {BURST_WINDOW_S / 60:.0f} minutes"))  # fmt: skip
    return out


def chargeback_rates(view: MarketView) -> list[Signal]:
    out = []
    for tier, (charged_back, paid) in sorted(view.chargebacks.items()):
        if paid >= CHARGEBACK_MIN_ORDERS and charged_back / paid >= CHARGEBACK_RATE:
            rate = charged_back / paid
            out.append(
                Signal(
                    "chargebacks",
                    f"tier {tier}",
                    round(rate / CHARGEBACK_RATE, 2),
                    f"{charged_back} of {paid} card orders charged back ({rate:.1%})",
                )
            )
    return out


def detect(view: MarketView) -> list[Signal]:
    """Every signal, strongest first within each kind."""
    found = [
        *accumulating(view),
        *quick_flips(view),
        *rings(view),
        *order_bursts(view),
        *chargeback_rates(view),
    ]
    return sorted(found, key=lambda s: (s.kind, -s.score, s.subject))


def precision_recall(found: Iterable[Signal], planted: set[str]) -> tuple[float, float]:
    """Over the flagged wallets and clients (tier-level signals are not suspects)."""
    flagged = {s.subject for s in found if not s.subject.startswith("tier ")}
    hits = len(flagged & planted)
    precision = hits / len(flagged) if flagged else 1.0
    recall = hits / len(planted) if planted else 1.0
    return precision, recall
