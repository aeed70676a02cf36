"""Means, spreads and confidence intervals over seeds."""

from __future__ import annotations

import math

import numpy as np

CONFIDENCE = 0.95


def mean_ci(values, confidence: float = CONFIDENCE) -> dict:
    """Mean, sample standard deviation and Student-t confidence interval of the mean.

    With fewer than two values there is no spread to speak of: std and the interval are
    NaN, and every verdict built on them is "inconclusive".
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, df=n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def paired_difference(values, reference, confidence: float = CONFIDENCE) -> dict:
    """``mean_ci`` of values[i] - reference[i]: the paired comparison over seeds."""
    return mean_ci(np.asarray(values, float) - np.asarray(reference, float), confidence)


def direction(interval: dict) -> str:
    """'above' or 'below' zero when the whole interval is, else 'unclear'."""
    if not math.isfinite(interval["ci_low"]):
        return "unclear"
    if interval["ci_low"] > 0:
        return "above"
    if interval["ci_high"] < 0:
        return "below"
    return "unclear"
