"""Simulated on-sales with a known truth, for back-testing the dashboard's analytics
(scripts/bench_dashboard.py and the tests). Nothing here runs in the bridge.

:func:`onsale` draws an on-sale: a rush at opening that decays, a steady pace that grows as the
date approaches, orders of 1-4 tickets arriving as a Poisson process, until the supply is gone or
doors open. The truth is when it really sold out.

:func:`planted_market` draws a market of ordinary fans with planted scalpers (accumulating
wallets, quick flippers at the cap, rings passing tickets among themselves, a client sending a
burst of card orders), for measuring the scalping signals' precision and recall.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HOUR = 3600.0


@dataclass(frozen=True)
class OnSale:
    supply: int
    start: float
    doors: float
    times: list[float]
    quantities: list[int]
    sellout_at: float | None  # the truth: when the last ticket went (None: not before doors)

    def until(self, now: float) -> tuple[list[float], list[int]]:
        """The sales seen up to ``now``."""
        n = int(np.searchsorted(np.asarray(self.times), now, side="right"))
        return self.times[:n], self.quantities[:n]


def onsale(rng: np.random.Generator, *, start: float = 1.9e9, days_to_doors: float = 30) -> OnSale:
    supply = int(rng.integers(300, 3000))
    doors = start + days_to_doors * 24 * HOUR
    rush_share = rng.uniform(0.15, 0.55)  # of the supply the opening rush would sell
    tau = rng.uniform(1.5, 10.0)  # hours the rush takes to fall by e
    steady_days = rng.uniform(3, 25)  # days the rest would take at the steady pace
    growth = rng.uniform(0.0, 2.0)  # how much the steady pace grows towards doors
    mean_size = 2.2
    rush_a = rush_share * supply / tau  # tickets per hour at opening
    steady = (1 - rush_share) * supply / (steady_days * 24)
    horizon = days_to_doors * 24.0
    times: list[float] = []
    quantities: list[int] = []
    sold = 0
    sellout = None
    step = 0.25  # hours
    t = 0.0
    while t < horizon and sold < supply:
        rate = rush_a * np.exp(-t / tau) + steady * (1 + growth * t / horizon)
        rate *= rng.gamma(4.0, 0.25)  # bursty demand: over-dispersed counts
        orders = rng.poisson(rate * step / mean_size)
        for moment in np.sort(rng.uniform(t, t + step, size=orders)):
            size = min(int(rng.integers(1, 5)), supply - sold)
            times.append(start + float(moment) * HOUR)
            quantities.append(size)
            sold += size
            if sold >= supply:
                sellout = start + float(moment) * HOUR
                break
        t += step
    return OnSale(supply, start, doors, times, quantities, sellout)


@dataclass
class Market:
    """A planted scenario: sales, resales and card orders, and who the scalpers really are."""

    sales: list[dict[str, object]] = field(default_factory=list)  # wallet, tier, quantity, t, tx
    resales: list[dict[str, object]] = field(default_factory=list)  # token, seller, buyer, ...
    orders: list[dict[str, object]] = field(default_factory=list)  # client, tier, quantity, t
    token_tier: dict[int, int] = field(default_factory=dict)
    caps: dict[int, int] = field(default_factory=dict)  # tier -> cap in wei
    scalpers: set[str] = field(default_factory=set)  # wallets and clients planted


def planted_market(rng: np.random.Generator, *, fans: int = 600, start: float = 1.9e9) -> Market:
    m = Market()
    face = {0: 10**16, 1: 3 * 10**16}
    m.caps = {tier: value * 11_000 // 10_000 for tier, value in face.items()}
    next_token = [1]
    counter = [0]

    def wallet(prefix: str) -> str:
        counter[0] += 1
        return f"0x{prefix}{counter[0]:0{40 - len(prefix)}x}"

    def buy(who: str, tier: int, qty: int, t: float) -> list[int]:
        tokens = list(range(next_token[0], next_token[0] + qty))
        next_token[0] += qty
        for token in tokens:
            m.token_tier[token] = tier
        m.sales.append({"wallet": who, "tier": tier, "quantity": qty, "t": t,
                        "tx": f"tx{len(m.sales)}", "token": tokens[0]})  # fmt: skip
        return tokens

    def resell(token: int, seller: str, buyer: str, price: int, t: float) -> None:
        m.resales.append({"token": token, "seller": seller, "buyer": buyer, "price": price, "t": t})

    day = 24 * HOUR
    fan_wallets = [wallet("f") for _ in range(fans)]
    for who in fan_wallets:
        t = start + rng.exponential(2 * day)
        tier = int(rng.random() < 0.3)
        tokens = buy(who, tier, int(rng.integers(1, 5)), t)
        if rng.random() < 0.12:  # a second order, for friends, later
            buy(who, int(rng.random() < 0.3), int(rng.integers(1, 3)), t + rng.uniform(1, 5) * day)
        if rng.random() < 0.06:  # can't go after all: resold days later, usually under the cap
            price = int(m.caps[tier] * rng.uniform(0.7, 1.0))
            resell(tokens[0], who, rng.choice(fan_wallets), price, t + rng.uniform(3, 10) * day)
        if rng.random() < 0.04:  # a gift to a friend (price 0)
            resell(tokens[-1], who, wallet("g"), 0, t + rng.uniform(1, 8) * day)
        if rng.random() < 0.5:
            m.orders.append({"client": f"client-{who}", "tier": tier, "quantity": 1, "t": t})
    # a few fans share one office network: several orders from one client, hours apart
    for i in range(5):
        base = start + rng.uniform(0, 3) * day
        for k in range(3):
            m.orders.append({"client": f"office-{i}", "tier": 0, "quantity": 2,
                             "t": base + k * rng.uniform(1, 4) * HOUR})  # fmt: skip
    # hard negatives: fans who buy three times for friends, fans who resell at the cap days later
    for _ in range(15):
        who = wallet("h")
        t = start + rng.uniform(0, 3) * day
        for k in range(3):
            buy(who, k % 2, 2, t + k * rng.uniform(0.5, 3) * day)
    for _ in range(15):
        who = wallet("h")
        t = start + rng.uniform(0, 3) * day
        tier = int(rng.integers(0, 2))
        (token,) = buy(who, tier, 1, t)
        resell(token, who, rng.choice(fan_wallets), m.caps[tier], t + rng.uniform(2, 10) * day)
    # patient flippers: resell at the cap, but hours later (the signals are not meant to see
    # these; they keep the recall figure honest)
    for _ in range(4):
        who = wallet("p")
        m.scalpers.add(who)
        t = start + rng.uniform(0, 1) * day
        tier = int(rng.integers(0, 2))
        for token in buy(who, tier, 2, t):
            resell(token, who, rng.choice(fan_wallets), m.caps[tier], t + rng.uniform(2, 6) * HOUR)
    # accumulators: many orders across tiers from one wallet
    for _ in range(8):
        who = wallet("a")
        m.scalpers.add(who)
        t = start + rng.uniform(0, 0.3) * day
        for k in range(int(rng.integers(4, 8))):
            buy(who, k % 2, 4, t + k * rng.uniform(60, 900))
    # flippers: buy, then resell at the cap within minutes
    for _ in range(8):
        who = wallet("b")
        m.scalpers.add(who)
        t = start + rng.uniform(0, 1) * day
        tier = int(rng.integers(0, 2))
        for token in buy(who, tier, int(rng.integers(2, 5)), t):
            resell(token, who, rng.choice(fan_wallets), m.caps[tier],
                   t + rng.uniform(5, 50) * 60)  # fmt: skip
    # rings: three to five wallets passing the same tickets around
    for _ in range(4):
        ring = [wallet("c") for _ in range(int(rng.integers(3, 6)))]
        m.scalpers.update(ring)
        t = start + rng.uniform(0, 2) * day
        tokens = buy(ring[0], 0, 2, t)
        for lap in range(2):
            for i, seller in enumerate(ring):
                buyer = ring[(i + 1) % len(ring)]
                for token in tokens:
                    resell(token, seller, buyer, int(m.caps[0] * rng.uniform(0.9, 1.0)),
                           t + (lap * len(ring) + i + 1) * rng.uniform(0.5, 3) * HOUR)  # fmt: skip
    # burst clients: a script sending card orders, many a minute
    for i in range(6):
        client = f"bot-{i}"
        m.scalpers.add(client)
        t = start + rng.uniform(0, 1) * day
        for k in range(int(rng.integers(8, 20))):
            m.orders.append({"client": client, "tier": int(rng.integers(0, 2)), "quantity": 4,
                             "t": t + k * rng.uniform(2, 10)})  # fmt: skip
    return m
