"""The bulk twin of ``core.leadtime.demand_quantile``: many items' lead-time distributions.

The same bisection, step for step, in the core's operation order (the sum over lead-time
points runs point by point, not as numpy's pairwise sum) and with ``math.erf`` itself, so the
results are bit-identical to the per-item reference. Items have different numbers of points;
the missing ones weigh 0 and add exactly nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from stockwatch.core.leadtime import BISECTION_STEPS, INV_SQRT_2PI, LOSS_TAIL, SPREAD, SQRT2

F64 = npt.NDArray[np.float64]

_erf = np.frompyfunc(math.erf, 1, 1)


def _points_matrix(
    points: Sequence[Sequence[tuple[float, float]]],
) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """Rows of (lead days, weight) points as (rows, most points) arrays; ``valid`` marks the
    points a row has (the others weigh 0 and add exactly nothing)."""
    rows = len(points)
    width = max((len(p) for p in points), default=0)
    lead = np.zeros((rows, width))
    weight = np.zeros((rows, width))
    valid = np.zeros((rows, width), dtype=np.bool_)
    for i, row in enumerate(points):
        for j, (days, w) in enumerate(row):
            lead[i, j], weight[i, j], valid[i, j] = days, w, True
    return lead, weight, valid


def _bisect(hi: F64, accepts: Callable[[F64], npt.NDArray[np.bool_]]) -> F64:
    """The core's bisection on every row at once: BISECTION_STEPS halvings of [0, hi], keeping
    the upper end where ``accepts`` holds."""
    lo = np.zeros(len(hi))
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2.0
        take = accepts(mid)
        hi = np.where(take, mid, hi)
        lo = np.where(take, lo, mid)
    return hi


def _phi(z: F64) -> F64:
    erf = np.asarray(_erf(z / SQRT2), dtype=np.float64)
    return 0.5 * (1.0 + erf)


def demand_quantiles(
    rate: F64,
    sd: F64,
    review: F64,
    points: Sequence[Sequence[tuple[float, float]]],
    service_level: F64,
) -> F64:
    """Return each row's ``service_level`` quantile of demand over its lead-time points."""
    lead, weight, valid = _points_matrix(points)
    rows, width = lead.shape
    span = lead + review[:, None]
    mean = rate[:, None] * span
    root = np.sqrt(span)
    scale = sd[:, None] * root
    hi = np.zeros(rows)
    for j in range(width):
        top = rate * span[:, j] + SPREAD * sd * root[:, j]
        hi = np.where(valid[:, j], np.maximum(hi, top), hi)
    noisy = scale > 0
    safe_scale = np.where(noisy, scale, 1.0)

    def covered(mid: F64) -> npt.NDArray[np.bool_]:
        total = np.zeros(rows)
        for j in range(width):
            z = (mid - mean[:, j]) / safe_scale[:, j]
            part = np.where(
                noisy[:, j],
                weight[:, j] * _phi(z),
                np.where(mid >= mean[:, j], weight[:, j], 0.0),
            )
            total = np.where(valid[:, j], total + part, total)
        return total >= service_level

    return _bisect(hi + 1.0, covered)


_exp = np.frompyfunc(math.exp, 1, 1)


def _normal_loss(z: F64) -> F64:
    """The core's ``normal_loss`` (same operations, ``math.exp``/``math.erf`` per element)."""
    inside = np.abs(z) <= LOSS_TAIL
    zi = np.where(inside, z, 0.0)  # no overflow outside: those take the tail values
    pdf = np.asarray(_exp(-0.5 * zi * zi), dtype=np.float64) * INV_SQRT_2PI
    result: F64 = np.where(inside, pdf - zi * (1.0 - _phi(zi)), np.where(z > 0, 0.0, -z))
    return result


def fill_levels(
    mean: F64, scale: F64, weight: F64, valid: npt.NDArray[np.bool_], allowed: F64
) -> F64:
    """Return each row's ``fill_rate_level`` over its normal parts ((rows, parts) arrays; the
    invalid parts weigh nothing), bit for bit as the core's bisection."""
    rows, width = mean.shape
    hi = np.zeros(rows)
    for j in range(width):
        hi = np.where(valid[:, j], np.maximum(hi, mean[:, j] + SPREAD * scale[:, j]), hi)
    noisy = scale > 0
    safe_scale = np.where(noisy, scale, 1.0)

    def short_enough(mid: F64) -> npt.NDArray[np.bool_]:
        total = np.zeros(rows)
        for j in range(width):
            z = (mid - mean[:, j]) / safe_scale[:, j]
            part = np.where(
                noisy[:, j],
                weight[:, j] * (scale[:, j] * _normal_loss(z)),
                weight[:, j] * (mean[:, j] - mid),
            )
            counts = valid[:, j] & (noisy[:, j] | (mean[:, j] > mid))
            total = np.where(counts, total + part, total)
        return total <= allowed

    return _bisect(hi + 1.0, short_enough)


def lead_time_fill_levels(
    rate: F64,
    sd: F64,
    review: F64,
    points: Sequence[Sequence[tuple[float, float]]],
    allowed: F64,
) -> F64:
    """Return each row's fill-rate level over its learned lead-time points (the core's
    ``fill_rate_level(lead_time_parts(...))``)."""
    lead, weight, valid = _points_matrix(points)
    span = lead + review[:, None]
    mean = rate[:, None] * span
    scale = sd[:, None] * np.sqrt(span)
    return fill_levels(mean, scale, weight, valid, allowed)
