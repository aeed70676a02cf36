"""Seeds added in rounds until a paired difference is decided, under a valid rule.

Looking at a 95% interval after every round and stopping once it excludes zero finds a
"difference" far more often than 5% of the time when there is none (optional stopping).
The rule here keeps the error rate at its nominal level across all looks:

- The looks are planned: the first at ``FIRST_LOOK`` seeds, then one every ``ROUND``
  seeds, the last at the maximum (``looks``).
- Lan-DeMets alpha spending with the Pocock-type function ``alpha * ln(1 + (e - 1) t)``
  (t: the fraction of the maximum seeds seen) gives each look its share of the 5%, and
  each look a boundary for Student's t (the spread is estimated from the seeds, not
  known), found by simulation because it has no closed form (``boundaries``).
- Around the mean difference, the boundary times its standard error is a *repeated
  confidence interval*: all of a plan's intervals together cover the true difference
  with 95% probability, whenever one stops (Jennison & Turnbull, Group Sequential
  Methods with Applications to Clinical Trials, 2000, ch. 9).
- A variant is decided when its interval excludes zero (helps, costs accuracy) or lies
  inside +-delta (no difference larger than delta). Both verdicts are wrong with at most
  5% probability, and stopping early for a budget only leaves part of the 5% unspent.

``tests/test_sequential.py`` checks all of it by simulation.
"""

from __future__ import annotations

import functools
import math

import numpy as np

ALPHA = 0.05
FIRST_LOOK = 3
ROUND = 2
RULE = ("group-sequential repeated confidence intervals (Lan-DeMets alpha spending, "
        "Pocock type: 5% two-sided over all looks, Student-t boundaries)")
HELPS, COSTS, EQUIVALENT = "helps", "costs accuracy", "no difference larger than delta"


def looks(max_seeds: int, first: int = FIRST_LOOK, step: int = ROUND) -> list[int]:
    """The seed counts at which a comparison looks: 3, 5, 7, ... and the maximum."""
    sizes = list(range(min(first, max_seeds), max_seeds, step))
    return [*sizes, max_seeds]


def spent(fraction: float, alpha: float = ALPHA) -> float:
    """Pocock-type spending: the part of ``alpha`` spent once ``fraction`` of the
    maximum information is seen (0 at 0, ``alpha`` at 1)."""
    return alpha * math.log(1 + (math.e - 1) * min(fraction, 1.0))


# Paths simulated to find the boundaries of Student's t: the chance spent at each look is
# then met to within about +-0.0007 (Monte-Carlo error), the same numbers on every run.
PATHS = 200_000
_PATHS_SEED = 20240527


@functools.lru_cache(maxsize=64)
def boundaries(sizes: tuple[int, ...], alpha: float = ALPHA,
               statistic: str = "t") -> tuple[float, ...]:
    """Two-sided critical values of |t| (or, ``statistic="z"``, of |Z| with the spread
    known), one per look at ``sizes`` seeds, the last the maximum: with no difference,
    the chance that the statistic first crosses at look k is spent(k) - spent(k - 1).

    Student's t at each look depends on the seeds seen before it, and its joint
    distribution over the looks has no closed form, but it is the same whatever the
    true difference and spread (a pivot): so the boundaries come from ``PATHS`` seeded
    simulated paths of standard normal differences, exact but for Monte-Carlo error.
    """
    rng = np.random.default_rng(_PATHS_SEED)
    total, seen = sizes[-1], 0
    sums, squares = np.zeros(PATHS), np.zeros(PATHS)
    going = np.ones(PATHS, dtype=bool)
    critical, previous_spent = [], 0.0
    for size in sizes:
        draws = rng.standard_normal((PATHS, size - seen))
        sums += draws.sum(axis=1)
        squares += (draws ** 2).sum(axis=1)
        seen = size
        if statistic == "z":
            scale = np.ones(PATHS)
        else:
            scale = np.sqrt(np.maximum(squares - sums ** 2 / size, 0) / max(size - 1, 1))
        value = np.abs(sums / size) / (scale / math.sqrt(size))
        share = spent(size / total, alpha) - previous_spent
        previous_spent += share
        # Cross where exactly share * PATHS of the paths still going lie beyond.
        crossing = int(round(share * PATHS))
        if crossing:
            still = -value[going]  # the largest values first, after partitioning
            ranked = -np.partition(still, [crossing - 1, crossing])[[crossing - 1, crossing]]
            bound = float(ranked.mean())
        else:
            bound = math.inf
        critical.append(bound)
        going &= value <= bound
    return tuple(critical)


def nominal_levels(sizes, alpha: float = ALPHA) -> list[float]:
    """Each look's two-sided nominal significance level (smaller than ``alpha``)."""
    from scipy import stats

    return [float(2 * stats.t.sf(c, df=max(size - 1, 1)))
            for c, size in zip(boundaries(tuple(sizes), alpha), sizes)]


def intervals(differences, look: int, sizes, alpha: float = ALPHA):
    """Mean, low and high end of the repeated confidence interval at look number
    ``look`` (0-based) of the plan ``sizes``, for each row of ``differences`` (the
    paired differences seen so far, along the last axis; at least two)."""
    from scipy import stats

    values = np.asarray(differences, dtype=float)
    n = values.shape[-1]
    level = nominal_levels(sizes, alpha)[look]
    mean = values.mean(axis=-1)
    half = (float(stats.t.isf(level / 2, df=n - 1)) * values.std(axis=-1, ddof=1)
            / math.sqrt(n))
    return mean, mean - half, mean + half


def repeated_interval(differences, look: int, sizes, alpha: float = ALPHA) -> dict:
    """The repeated confidence interval of the mean of ``differences`` at look number
    ``look`` (0-based) of the plan ``sizes``: {n, mean, std, ci_low, ci_high, level}, as
    ``stats.mean_ci`` gives, with the look's nominal confidence ``level``. With fewer
    seeds than the look planned (diverged runs), Student's t has fewer degrees of
    freedom at the same nominal level."""
    values = np.asarray(differences, dtype=float)
    n, level = len(values), 1 - nominal_levels(sizes, alpha)[look]
    if n < 2:
        return {"n": n, "mean": float(values.mean()) if n else math.nan, "std": math.nan,
                "ci_low": math.nan, "ci_high": math.nan, "level": level}
    mean, low, high = (float(x) for x in intervals(values, look, sizes, alpha))
    return {"n": n, "mean": mean, "std": float(values.std(ddof=1)), "ci_low": low,
            "ci_high": high, "level": level}


def verdicts(low, high, delta: float):
    """HELPS or COSTS where the interval excludes zero, EQUIVALENT where it lies inside
    +-delta, "" (undecided) elsewhere: element by element."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return np.select([low > 0, high < 0, (-delta <= low) & (high <= delta)],
                     [HELPS, COSTS, EQUIVALENT], default="").astype(object)


def decide(interval: dict, delta: float) -> str | None:
    """The verdict of one interval (see ``verdicts``), None while undecided."""
    return verdicts(interval["ci_low"], interval["ci_high"], delta).item() or None


def sequence(differences, delta: float, alpha: float = ALPHA):
    """Run the rule on each row of ``differences`` (replications x the maximum seeds):
    look at each planned size, stop a row at its first verdict. Returns the verdicts
    ("" where none came) and the seeds each row used."""
    values = np.asarray(differences, dtype=float)
    sizes = looks(values.shape[-1])
    found = np.full(values.shape[:-1], "", dtype=object)
    used = np.full(values.shape[:-1], sizes[-1])
    for look, size in enumerate(sizes):
        if size < 2:
            continue
        _, low, high = intervals(values[..., :size], look, sizes, alpha)
        new = (found == "") & (verdicts(low, high, delta) != "")
        found[new] = verdicts(low, high, delta)[new]
        used[new] = size
    return found, used


def seeds_needed(mean: float, std: float, n: int, max_seeds: int, delta: float,
                 alpha: float = ALPHA, limit: int = 64) -> int | None:
    """The fewest seeds at which, if the mean and spread seen so far held, the interval
    would decide: at a later look of this plan, or else at the last look of a plan with
    a larger maximum. None beyond ``limit`` seeds (or without a spread to go on)."""
    from scipy import stats

    if not (math.isfinite(mean) and math.isfinite(std)):
        return None

    def decides(size, sizes):
        level = nominal_levels(sizes, alpha)[sizes.index(size)]
        half = float(stats.t.isf(level / 2, df=size - 1)) * std / math.sqrt(size)
        return decide({"ci_low": mean - half, "ci_high": mean + half}, delta) is not None

    plan = looks(max_seeds)
    for size in plan:
        if size > n and decides(size, plan):
            return size
    # Beyond this plan: the narrower interval of more seeds outweighs the slightly wider
    # boundary of a longer plan, so the first plan that decides is found by bisection.
    larger = list(range(plan[-1] + ROUND, limit, ROUND)) + [limit]
    if plan[-1] >= limit or not decides(limit, looks(limit)):
        return None
    low, high = 0, len(larger) - 1
    while low < high:
        middle = (low + high) // 2
        if decides(larger[middle], looks(larger[middle])):
            high = middle
        else:
            low = middle + 1
    return larger[low]
