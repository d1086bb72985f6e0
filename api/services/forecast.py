"""Sell-out forecasts per tier: when a tier will sell out, or how many seats will be left at
doors, with an interval.

The model is a quasi-Poisson generalized linear model (statsmodels ``GLM``, identity link) of
the tickets sold per time bin since the on-sale opened: an opening rush that fades plus a steady
pace::

    E[sales in bin t] = steady + rush * exp(-t / tau)

For each ``tau`` of a grid (a quarter of an hour to two days) the model is linear in ``steady``
and ``rush``; the ``tau`` with the highest likelihood is kept (profile likelihood). A log-link
model (``log E = b0 + b1 t + b2 log(1 + t)``) was tried first and lost to the naive line by far:
its exponential terms, fitted on a day or two, explode or vanish over the weeks to doors.
Over-dispersion (bursty buying) is estimated from the Pearson chi-square (``scale="X2"``), so the
coefficients' covariance is honest about it.

The forecast integrates the fitted rate forward from now, bin by bin, until the supply is
reached or doors open. The interval comes from 400 draws of the coefficients from their
estimated normal distribution (the usual large-sample approximation), each pushed forward the
same way: the 10th and 90th percentiles of the sell-out times (or of the seats left at doors).

:func:`naive_sellout` is the baseline the benchmark compares with: a straight line through the
sales so far (sold / elapsed, extrapolated).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_SALES = 8  # fewer tickets sold than this: no forecast yet
MIN_BINS = 6
DRAWS = 400
HORIZON_BINS = 20_000
TAU_GRID_H = (0.25, 0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 9.0, 12.0, 18.0, 24.0, 36.0, 48.0)


@dataclass(frozen=True)
class Forecast:
    """``sells_out`` with ``sellout_at`` (unix seconds) and its interval, or the seats
    ``left_at_doors`` and its interval. ``reason`` says why there is none."""

    tier: int
    sold: int
    supply: int
    sells_out: bool | None = None
    sellout_at: float | None = None
    sellout_low: float | None = None
    sellout_high: float | None = None
    left_at_doors: int | None = None
    left_low: int | None = None
    left_high: int | None = None
    probability_sellout: float | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _bins(
    times: Sequence[float], quantities: Sequence[int], start: float, now: float
) -> tuple[np.ndarray, float]:
    """Tickets sold per bin from ``start`` to ``now``; the bin width (at least a minute, at
    most an hour, about 60 bins so far)."""
    width = min(3600.0, max(60.0, (now - start) / 60.0))
    n = max(1, math.ceil((now - start) / width))
    counts = np.zeros(n)
    for t, q in zip(times, quantities, strict=True):
        i = min(n - 1, max(0, int((t - start) // width)))
        counts[i] += q
    return counts, width


def _design(t: np.ndarray, tau: float) -> np.ndarray:
    return np.column_stack([np.ones_like(t), np.exp(-t / tau)])


def _fit(
    counts: np.ndarray, t: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The best ``(coefficients, covariance, tau in bins)`` over the grid of ``tau``."""
    import statsmodels.api as sm

    family = sm.families.Poisson(link=sm.families.links.Identity())
    best: tuple[float, np.ndarray, np.ndarray, float] | None = None
    mean = max(float(counts.mean()), 1e-3)
    elapsed_h = len(counts) * width / 3600.0
    for tau_h in TAU_GRID_H:
        if tau_h > elapsed_h / 3:  # a rush longer than a third of the sales seen is a pace
            break
        tau = tau_h * 3600.0 / width
        x = _design(t, tau)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # identity-link chatter; bad fits are dropped below
            try:
                fit = sm.GLM(counts, x, family=family).fit(
                    start_params=np.array([mean / 2, mean]), scale="X2", maxiter=100
                )
            except (ValueError, np.linalg.LinAlgError, ZeroDivisionError):
                continue
        beta = np.asarray(fit.params)
        cov = np.asarray(fit.cov_params())
        rates = x @ beta
        if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(cov)) and rates.min() > -1e-9):
            continue
        llf = float(np.sum(counts * np.log(np.maximum(rates, 1e-12)) - rates))
        if best is None or llf > best[0]:
            best = (llf, beta, cov, tau)
    return None if best is None else (best[1], best[2], best[3])


def forecast_tier(
    tier: int,
    times: Sequence[float],
    quantities: Sequence[int],
    *,
    supply: int,
    start: float,
    now: float,
    doors: float,
    seed: int = 0,
) -> Forecast:
    """The forecast of one tier from its sales so far (``times`` in unix seconds)."""

    sold = int(sum(quantities))
    base = Forecast(tier=tier, sold=sold, supply=supply)
    if sold >= supply:
        return Forecast(tier, sold, supply, sells_out=True, sellout_at=max(times, default=now),
                        sellout_low=max(times, default=now), sellout_high=max(times, default=now),
                        probability_sellout=1.0, reason="sold out")  # fmt: skip
    if now >= doors:
        return Forecast(tier, sold, supply, sells_out=False, left_at_doors=supply - sold,
                        left_low=supply - sold, left_high=supply - sold,
                        probability_sellout=0.0, reason="doors are open")  # fmt: skip
    if sold < MIN_SALES:
        return Forecast(**{**base.__dict__, "reason": f"fewer than {MIN_SALES} tickets sold yet"})
    counts, width = _bins(times, quantities, start, now)
    if len(counts) < MIN_BINS:
        return Forecast(**{**base.__dict__, "reason": "the on-sale has only just started"})
    t = np.arange(len(counts), dtype=float) + 0.5  # bin middles
    fitted = _fit(counts, t, width)
    if fitted is None:
        return Forecast(**{**base.__dict__, "reason": "the sales so far fit no model"})
    beta, cov, tau = fitted
    left = supply - sold
    horizon = min(HORIZON_BINS, max(1, math.ceil((doors - now) / width)))
    future = _design(np.arange(len(counts), len(counts) + horizon, dtype=float) + 0.5, tau)
    # the first future bin starts at the end of the last observed one; `now` sits inside it
    offset = start + len(counts) * width
    rng = np.random.default_rng(seed)
    draws = np.vstack([beta, rng.multivariate_normal(beta, cov, size=DRAWS, method="cholesky")])
    cum = np.cumsum(np.maximum(future @ draws.T, 0.0), axis=0)  # (horizon, draws + 1)
    hit = cum >= left
    reached = np.asarray(hit.any(axis=0), dtype=bool)
    first = np.where(reached, hit.argmax(axis=0), -1)
    # within the bin where the supply is reached, interpolate linearly
    times_out = np.full(first.shape, np.inf)
    for j in np.nonzero(reached)[0]:
        i = first[j]
        before = cum[i - 1, j] if i > 0 else 0.0
        frac = (left - before) / max(cum[i, j] - before, 1e-9)
        times_out[j] = offset + (i + frac) * width
    at_doors = np.maximum(left - cum[-1, :], 0.0)
    p_out = float(reached[1:].mean())
    point_out = bool(reached[0])
    if point_out:
        # draws that do not sell out before doors put the interval's top at doors
        low, high = np.percentile(np.minimum(times_out[1:], doors), [10, 90])
        return Forecast(
            tier, sold, supply, sells_out=True, sellout_at=float(times_out[0]),
            sellout_low=float(low), sellout_high=float(high), probability_sellout=p_out,
        )  # fmt: skip
    low_left, high_left = np.percentile(at_doors[1:], [10, 90])
    return Forecast(
        tier, sold, supply, sells_out=False, left_at_doors=round(float(at_doors[0])),
        left_low=round(float(low_left)), left_high=round(float(high_left)),
        probability_sellout=p_out,
    )  # fmt: skip


def naive_sellout(
    times: Sequence[float], quantities: Sequence[int], *, supply: int, start: float, now: float
) -> float | None:
    """Linear extrapolation: the pace so far (sold / elapsed) held until the supply is gone."""
    sold = sum(quantities)
    if sold <= 0 or now <= start:
        return None
    rate = sold / (now - start)
    return now + (supply - sold) / rate
