"""The one percentile the benchmarks print, so that a p95 means the same in every figure."""
from __future__ import annotations


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (p from 0 to 100) by nearest rank; NaN when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
