"""Owns: the one percentile definition every Python benchmark report uses.

Nearest-rank percentile: the p-th percentile of n sorted values is the value of
rank ceil(p/100 * n) (1-based), computed in exact arithmetic so that, e.g.,
p95 of 20 values is the 19th value, never the maximum through a rounding
artefact. The Rust side (`healthblock bench`) implements the same definition
in client/cli/src/stats.rs; both are unit-tested on the same cases.
"""

from fractions import Fraction
import math


def rank(p, n):
    """1-based nearest rank of the p-th percentile (0 < p <= 100) among n values."""
    if n <= 0:
        raise ValueError("a percentile of no values")
    q = Fraction(str(p))
    if not 0 < q <= 100:
        raise ValueError(f"percentile {p} is outside (0, 100]")
    return max(1, math.ceil(q * n / 100))


def percentile(values, p):
    """The nearest-rank p-th percentile of `values` (any order)."""
    ordered = sorted(values)
    return ordered[rank(p, len(ordered)) - 1]


def summarize(values_ms, **extra):
    """runs, p50/p95/min/max (nearest rank) and every value in run order, in ms."""
    return {
        "runs": len(values_ms),
        "p50_ms": round(percentile(values_ms, 50), 1),
        "p95_ms": round(percentile(values_ms, 95), 1),
        "min_ms": round(min(values_ms), 1),
        "max_ms": round(max(values_ms), 1),
        "all_ms": [round(t, 1) for t in values_ms],
        **extra,
    }
