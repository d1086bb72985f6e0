"""The dashboard's numbers for one event: counts, never identities.

:func:`stats` gathers, from the bridge's own tables, what the event page draws:

- sales over time per tier, primary by card and by ETH (``chain_activity``: each TicketsIssued
  log, with its block time), and the tiers' totals;
- revenue: primary by card (paid orders, in the card currency's minor units), primary on-chain
  (face value x tickets) and royalties (from each Resold log), both in whole units of the
  event's settlement currency (ETH, or its token: ``currency`` names it; the ``eth`` keys are
  the on-chain channel whatever it settles in);
- resales: count, and each price beside the tier's cap;
- doors: check-ins per gate per minute and conflicts (the gate hub's ``gate_checkins``);
- refusals by reason: the codes gate devices refused, counted per gate, minute and reason
  (``gate_refusals``, pushed by the devices with their sync; counts only).

:func:`version` is a cheap fingerprint of all that: the live stream recomputes and sends the
numbers only when it changed. :func:`csv_tables` gives every table behind a chart as CSV.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.gate_hub import gate_checkins, gate_refusals
from api.models import ChainActivity, Event, Order, OrderEvent, OrderState
from api.services import forecast, signals
from api.services.audit import csv_table

SALE_KINDS = ("card_sale", "eth_sale")
PAID = (OrderState.PAID, OrderState.MINTING, OrderState.MINTED)


def unix(moment: datetime) -> float:
    """Seconds since the epoch of a stored time (SQLite hands back naive UTC times)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def version(session: Session, event: Event) -> tuple[int, int, int, int]:
    activity = session.scalar(
        select(func.coalesce(func.max(ChainActivity.id), 0)).where(
            ChainActivity.event_id == event.id
        )
    )
    checkins = (
        session.scalar(
            select(func.coalesce(func.max(gate_checkins.c.seq), 0)).where(
                gate_checkins.c.event == (event.contract_address or "").lower()
            )
        )
        if event.contract_address
        else 0
    )
    paid = session.scalar(
        select(func.count(Order.id)).where(Order.event_id == event.id, Order.state.in_(PAID))
    )
    # the hub only ever raises a refusal counter, so their sum changes whenever one does
    refused = (
        session.scalar(
            select(func.coalesce(func.sum(gate_refusals.c.count), 0)).where(
                gate_refusals.c.event == event.contract_address.lower()
            )
        )
        if event.contract_address
        else 0
    )
    return int(activity or 0), int(checkins or 0), int(paid or 0), int(refused or 0)


def activity_rows(session: Session, event: Event) -> list[ChainActivity]:
    return list(
        session.scalars(
            select(ChainActivity)
            .where(ChainActivity.event_id == event.id)
            .order_by(ChainActivity.block_number, ChainActivity.log_index)
        )
    )


def tier_of_token(rows: list[ChainActivity]) -> dict[int, int]:
    """token id -> tier index, from the sales (each covers ``quantity`` consecutive ids)."""
    out: dict[int, int] = {}
    for r in rows:
        if r.kind in SALE_KINDS and r.token_id is not None and r.tier_index is not None:
            for token in range(r.token_id, r.token_id + r.quantity):
                out[token] = r.tier_index
    return out


def stats(session: Session, event: Event) -> dict[str, Any]:
    rows = activity_rows(session, event)
    unit = event.settlement.unit  # smallest units per whole ETH or token
    tiers = {t.tier_index: t for t in event.tiers}
    # sales over time: one point per sale, cumulative per tier and channel
    times: list[float] = []
    series: dict[str, list[int]] = {"card": [], "eth": []}
    per_tier: dict[int, list[int]] = {i: [] for i in tiers}
    totals = {"card": 0, "eth": 0}
    tier_totals: dict[int, dict[str, int]] = {i: {"card": 0, "eth": 0} for i in tiers}
    eth_revenue_wei = 0
    for r in rows:
        if r.kind not in SALE_KINDS or r.tier_index is None:
            continue
        channel = "card" if r.kind == "card_sale" else "eth"
        totals[channel] += r.quantity
        counts = tier_totals.setdefault(r.tier_index, {"card": 0, "eth": 0})
        counts[channel] += r.quantity
        if channel == "eth" and r.tier_index in tiers:
            eth_revenue_wei += int(tiers[r.tier_index].face_value_wei) * r.quantity
        times.append(unix(r.block_time))
        series["card"].append(totals["card"])
        series["eth"].append(totals["eth"])
        for i in per_tier:
            per_tier[i].append(sum(tier_totals.get(i, {}).values()))
    # resales against the cap
    token_tier = tier_of_token(rows)
    resales = []
    royalties_wei = 0
    for r in rows:
        if r.kind != "resale":
            continue
        tier = tiers.get(token_tier.get(r.token_id if r.token_id is not None else -1, -1))
        cap = int(tier.face_value_wei) * tier.resale_cap_bps // 10_000 if tier else None
        royalties_wei += int(r.royalty_wei)
        resales.append(
            {
                "t": unix(r.block_time),
                "token_id": r.token_id,
                "tier": tier.tier_index if tier else None,
                "price_eth": int(r.price_wei) / unit,
                "cap_eth": cap / unit if cap is not None else None,
                "at_cap": cap is not None and int(r.price_wei) >= cap,
            }
        )
    card_cents = session.scalar(
        select(func.coalesce(func.sum(Order.amount_cents), 0)).where(
            Order.event_id == event.id, Order.state.in_(PAID)
        )
    )
    doors = checkins(session, event)
    return {
        "event_id": event.id,
        "state": event.state,
        "currency": event.settlement.symbol,
        "version": list(version(session, event)),
        "tiers": [
            {
                "index": t.tier_index,
                "name": t.name,
                "supply": t.supply,
                "card": tier_totals.get(t.tier_index, {}).get("card", 0),
                "eth": tier_totals.get(t.tier_index, {}).get("eth", 0),
                "left": max(t.supply - sum(tier_totals.get(t.tier_index, {}).values()), 0),
            }
            for t in event.tiers
        ],
        "sales": {
            "t": times,
            "card": series["card"],
            "eth": series["eth"],
            "per_tier": {str(i): v for i, v in per_tier.items()},
            "total": totals["card"] + totals["eth"],
        },
        "revenue": {
            "card_cents": int(card_cents or 0),
            "eth_primary": eth_revenue_wei / unit,
            "royalties_eth": royalties_wei / unit,
        },
        "resales": {
            "count": len(resales),
            "at_cap": sum(1 for r in resales if r["at_cap"]),
            "items": resales,
        },
        "doors": doors,
        "refusals": refusals(session, event),
        "refunds": sum(1 for r in rows if r.kind == "refund"),
        "revoked": sum(1 for r in rows if r.kind == "revoked"),
    }


def checkins(session: Session, event: Event) -> dict[str, Any]:
    """Check-ins per gate per minute, and the conflicts the hub found."""
    if not event.contract_address:
        return {"minutes": [], "gates": {}, "total": 0, "conflicts": 0}
    rows = session.execute(
        select(gate_checkins.c.gate_id, gate_checkins.c.checked_at, gate_checkins.c.conflict).where(
            gate_checkins.c.event == event.contract_address.lower()
        )
    ).all()
    per: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    minutes: set[int] = set()
    for gate, at, _ in rows:
        minute = int(at // 60 * 60)
        per[gate][minute] += 1
        minutes.add(minute)
    ordered = sorted(minutes)
    return {
        "minutes": ordered,
        "gates": {g: [per[g].get(m, 0) for m in ordered] for g in sorted(per)},
        "total": len(rows),
        "conflicts": sum(1 for *_, conflict in rows if conflict),
    }


def refusals(session: Session, event: Event) -> dict[str, Any]:
    """Refused codes by reason (all gates), and per gate, minute and reason (the CSV)."""
    if not event.contract_address:
        return {"total": 0, "reasons": [], "rows": []}
    total = func.sum(gate_refusals.c.count)
    found = session.execute(
        select(gate_refusals.c.gate_id, gate_refusals.c.minute, gate_refusals.c.reason, total)
        .where(gate_refusals.c.event == event.contract_address.lower())
        .group_by(gate_refusals.c.gate_id, gate_refusals.c.minute, gate_refusals.c.reason)
        .order_by(gate_refusals.c.minute, gate_refusals.c.gate_id, gate_refusals.c.reason)
    ).all()
    by_reason: dict[str, int] = defaultdict(int)
    rows = []
    for gate, minute, reason, count in found:
        by_reason[str(reason)] += int(count)
        rows.append(
            {
                "minute": int(minute) * 60,
                "gate": str(gate),
                "reason": str(reason),
                "count": int(count),
            }
        )
    reasons = sorted(by_reason.items(), key=lambda item: (-item[1], item[0]))
    return {
        "total": sum(by_reason.values()),
        "reasons": [{"reason": r, "count": n} for r, n in reasons],
        "rows": rows,
    }


def csv_tables(session: Session, event: Event) -> dict[str, str]:
    """Every table behind a chart, as CSV text, by name."""
    data = stats(session, event)
    rows = activity_rows(session, event)
    sales = csv_table(
        ["block_time_utc", "channel", "tier", "quantity", "tx_hash"],
        [
            [r.block_time.isoformat(), r.kind.removesuffix("_sale"), r.tier_index, r.quantity,
             r.tx_hash]
            for r in rows
            if r.kind in SALE_KINDS
        ],
    )  # fmt: skip
    unit = str(data["currency"]).lower()  # price_eth, or price_fusd for an event in FUSD
    resales = csv_table(
        ["time_unix", "token_id", "tier", f"price_{unit}", f"cap_{unit}", "at_cap"],
        [
            [r["t"], r["token_id"], r["tier"], r["price_eth"], r["cap_eth"], r["at_cap"]]
            for r in data["resales"]["items"]
        ],
    )
    doors = data["doors"]
    checkin_rows = [
        [datetime.fromtimestamp(m, UTC).isoformat(), gate, counts[i]]
        for gate, counts in doors["gates"].items()
        for i, m in enumerate(doors["minutes"])
    ]
    tiers = csv_table(
        ["tier", "name", "supply", "sold_card", "sold_eth", "left"],
        [
            [t["index"], t["name"], t["supply"], t["card"], t["eth"], t["left"]]
            for t in data["tiers"]
        ],
    )
    return {
        "sales": sales,
        "resales": resales,
        "checkins": csv_table(["minute", "gate", "checkins"], checkin_rows),
        "tiers": tiers,
        "refusals": csv_table(
            ["minute", "gate", "reason", "refusals"],
            [
                [
                    datetime.fromtimestamp(r["minute"], UTC).isoformat(),
                    r["gate"],
                    r["reason"],
                    r["count"],
                ]
                for r in data["refusals"]["rows"]
            ],
        ),
    }


def market_view(session: Session, event: Event) -> signals.MarketView:
    """What the signals read: sales and resales from the chain, card orders (the client is the
    order's e-mail address: the bridge keeps no network address per order) and chargebacks."""
    rows = activity_rows(session, event)
    tiers = {t.tier_index: t for t in event.tiers}
    view = signals.MarketView(
        caps={i: int(t.face_value_wei) * t.resale_cap_bps // 10_000 for i, t in tiers.items()},
        token_tier=tier_of_token(rows),
    )
    for r in rows:
        if r.kind in SALE_KINDS and r.buyer:
            sale = {"wallet": r.buyer, "tier": r.tier_index, "quantity": r.quantity}
            view.sales.append(
                {**sale, "t": unix(r.block_time), "tx": r.tx_hash, "token": r.token_id}
            )
        elif r.kind == "resale" and r.seller and r.buyer:
            resale = {"token": r.token_id, "seller": r.seller, "buyer": r.buyer}
            view.resales.append({**resale, "price": int(r.price_wei), "t": unix(r.block_time)})
    index_of = {t.id: t.tier_index for t in event.tiers}
    for order_id, email, tier_id, quantity, created in session.execute(
        select(Order.id, Order.email, Order.tier_id, Order.quantity, Order.created_at).where(
            Order.event_id == event.id
        )
    ):
        order = {"client": email.strip().lower(), "tier": index_of.get(tier_id)}
        view.orders.append({**order, "quantity": quantity, "t": unix(created), "order": order_id})
    paid = dict(
        session.execute(
            select(Order.tier_id, func.count(Order.id))
            .where(Order.event_id == event.id, Order.paid_at.is_not(None))
            .group_by(Order.tier_id)
        ).all()
    )
    charged = dict(
        session.execute(
            select(Order.tier_id, func.count(func.distinct(Order.id)))
            .join(OrderEvent, OrderEvent.order_id == Order.id)
            .where(Order.event_id == event.id, OrderEvent.reason.like("chargeback%"))
            .group_by(Order.tier_id)
        ).all()
    )
    view.chargebacks = {
        index_of[tier_id]: (int(charged.get(tier_id, 0)), int(count))
        for tier_id, count in paid.items()
        if tier_id in index_of
    }
    return view


def insights(session: Session, event: Event, now: float | None = None) -> dict[str, Any]:
    """Sell-out forecasts per tier and the scalping/fraud signals."""
    now = datetime.now(UTC).timestamp() if now is None else now
    rows = activity_rows(session, event)
    start = unix(event.created_at)
    doors = unix(event.starts_at)
    out = []
    for t in event.tiers:
        sales = [r for r in rows if r.kind in SALE_KINDS and r.tier_index == t.tier_index]
        times = [unix(r.block_time) for r in sales]
        start_t = min([start, *times])
        result = forecast.forecast_tier(
            t.tier_index,
            times,
            [r.quantity for r in sales],
            supply=t.supply,
            start=start_t,
            now=now,
            doors=doors,
        )
        out.append({**result.as_dict(), "name": t.name})
    found = signals.detect(market_view(session, event))
    return {"forecasts": out, "signals": [s.as_dict() for s in found], "at": now}


def _when(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="minutes")


def insight_csvs(data: dict[str, Any]) -> dict[str, str]:
    forecasts = csv_table(
        ["tier", "name", "sold", "supply", "sells_out", "sellout_at", "sellout_low",
         "sellout_high", "left_at_doors", "left_low", "left_high", "probability_sellout",
         "reason"],
        [[f["tier"], f["name"], f["sold"], f["supply"], f["sells_out"], _when(f["sellout_at"]),
          _when(f["sellout_low"]), _when(f["sellout_high"]), f["left_at_doors"], f["left_low"],
          f["left_high"], f["probability_sellout"], f["reason"]] for f in data["forecasts"]],
    )  # fmt: skip
    found = csv_table(
        ["kind", "subject", "score", "evidence"],
        [[s["kind"], s["subject"], s["score"], s["evidence"]] for s in data["signals"]],
    )
    return {"forecast": forecasts, "signals": found}
