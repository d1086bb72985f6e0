"""The dashboard's analytics on simulated data with a known truth (no chain, no database): the
sell-out forecast beats a straight line and says when it cannot tell; the scalping signals find
the planted scalpers with their evidence and leave ordinary fans alone."""

from __future__ import annotations

import numpy as np
import pytest

from api.services.forecast import MIN_SALES, forecast_tier, naive_sellout
from api.services.signals import MarketView, detect, precision_recall
from api.simulation import HOUR, onsale, planted_market


def test_the_forecast_beats_the_naive_line_on_simulated_onsales() -> None:
    rng = np.random.default_rng(11)
    model, naive = [], []
    for _ in range(12):
        sale = onsale(rng)
        now = sale.start + 48 * HOUR
        if sale.sellout_at is None or sale.sellout_at <= now:
            continue
        times, quantities = sale.until(now)
        f = forecast_tier(0, times, quantities, supply=sale.supply, start=sale.start, now=now,
                          doors=sale.doors)  # fmt: skip
        line = naive_sellout(times, quantities, supply=sale.supply, start=sale.start, now=now)
        assert line is not None
        truth = sale.sellout_at - now
        predicted = (f.sellout_at if f.sells_out and f.sellout_at else sale.doors) - now
        model.append(abs(predicted - truth) / truth)
        naive.append(abs(line - now - truth) / truth)
        if f.sells_out:
            assert f.sellout_low is not None and f.sellout_high is not None
            assert f.sellout_low <= f.sellout_high
    assert len(model) >= 8
    assert np.mean(model) < np.mean(naive)


def test_the_forecast_says_when_it_cannot_tell() -> None:
    few = forecast_tier(0, [1.0, 2.0], [1, 1], supply=100, start=0.0, now=3600.0, doors=1e6)
    assert few.sells_out is None and f"fewer than {MIN_SALES}" in few.reason
    done = forecast_tier(0, [10.0], [5], supply=5, start=0.0, now=20.0, doors=1e6)
    assert done.sells_out is True and done.reason == "sold out"
    late = forecast_tier(0, [10.0], [2], supply=5, start=0.0, now=2e6, doors=1e6)
    assert late.left_at_doors == 3 and late.reason == "doors are open"


def test_a_slow_tier_is_left_over_at_doors() -> None:
    # 10 tickets a day, steadily, 40 of 1,000 sold after four days, doors in ten days
    times = [i * 8640.0 for i in range(40)]
    f = forecast_tier(0, times, [1] * 40, supply=1000, start=0.0, now=4 * 86400.0,
                      doors=10 * 86400.0)  # fmt: skip
    assert f.sells_out is False and f.left_at_doors is not None
    assert 900 <= f.left_at_doors <= 960 and f.left_low <= f.left_at_doors <= f.left_high


@pytest.mark.parametrize("seed", [0, 1])
def test_signals_find_the_planted_scalpers(seed: int) -> None:
    market = planted_market(np.random.default_rng(seed))
    view = MarketView(sales=market.sales, resales=market.resales, orders=market.orders,
                      token_tier=market.token_tier, caps=market.caps)  # fmt: skip
    found = detect(view)
    precision, recall = precision_recall(found, market.scalpers)
    assert precision >= 0.9 and recall >= 0.8, (precision, recall)
    kinds = {s.kind for s in found}
    assert {"accumulating", "quick_flip", "ring", "order_burst"} <= kinds
    assert all(s.evidence for s in found)
    flip = next(s for s in found if s.kind == "quick_flip")
    assert "of cap" in flip.evidence and "min" in flip.evidence


def test_ordinary_fans_are_not_flagged() -> None:
    view = MarketView(
        sales=[
            {"wallet": "0xfan", "tier": 0, "quantity": 4, "t": 0.0, "token": 1},
            {"wallet": "0xfan", "tier": 1, "quantity": 2, "t": 86400.0, "token": 5},
        ],
        resales=[  # one ticket resold at the cap, a week later; one gift
            {"token": 1, "seller": "0xfan", "buyer": "0xb", "price": 110, "t": 7 * 86400.0},
            {"token": 2, "seller": "0xfan", "buyer": "0xfriend", "price": 0, "t": 86400.0},
        ],
        orders=[{"client": "office", "t": i * 3600.0} for i in range(4)],
        token_tier={1: 0, 2: 0, 3: 0, 4: 0, 5: 1, 6: 1},
        caps={0: 110, 1: 330},
        chargebacks={0: (1, 100)},
    )
    assert detect(view) == []
    view.chargebacks = {0: (9, 100)}
    (signal,) = detect(view)
    assert signal.kind == "chargebacks" and "9 of 100" in signal.evidence


def test_the_benchmark_script_writes_its_figures(tmp_path) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "bench.json"
    script = Path(__file__).resolve().parents[2] / "scripts" / "bench_dashboard.py"
    done = subprocess.run(
        [sys.executable, str(script), "--only", "scalpers", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert {"scalper_precision", "scalper_recall", "load_avg_before"} <= set(figures)
    assert figures["scalper_precision_target"].endswith("met")
