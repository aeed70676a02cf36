"""The sequential rule of ``compare``, proved by simulation: NumPy and SciPy only, no
training. Differences are in points of test accuracy; the spread 0.45 and the effect 0.6
are those of Dropout's paired difference on mnist-5k (issue 27)."""

import math

import numpy as np
import pytest
from scipy import stats

from tools import sequential

REPLICATIONS = 40_000
MAX_SEEDS = 16
SPREAD = 0.45
# Three Monte-Carlo standard errors of a rate of 5% over the replications.
MC_MARGIN = 3 * math.sqrt(0.05 * 0.95 / REPLICATIONS)


def simulated(effect, delta, rule=sequential.sequence, seed=1):
    rng = np.random.default_rng(seed)  # not the boundaries' own seed
    differences = rng.normal(effect, SPREAD, size=(REPLICATIONS, MAX_SEEDS))
    return rule(differences, delta)


def naive_sequence(differences, delta):
    """Optional stopping: a plain 95% Student-t interval at every look, stop at the
    first that decides."""
    sizes = sequential.looks(differences.shape[-1])
    found = np.full(len(differences), "", dtype=object)
    for size in sizes:
        seen = differences[:, :size]
        half = (stats.t.isf(0.025, size - 1) * seen.std(axis=1, ddof=1) / math.sqrt(size))
        mean = seen.mean(axis=1)
        verdicts = sequential.verdicts(mean - half, mean + half, delta)
        new = (found == "") & (verdicts != "")
        found[new] = verdicts[new]
    return found, None


def false_positive_rate(found):
    return float(np.mean((found == sequential.HELPS) | (found == sequential.COSTS)))


def test_looks_are_planned_from_the_maximum():
    assert sequential.looks(16) == [3, 5, 7, 9, 11, 13, 15, 16]
    assert sequential.looks(3) == [3] and sequential.looks(2) == [2]
    assert sequential.looks(4) == [3, 4]


def test_boundaries_of_known_variance_match_the_published_ones():
    # Lan-DeMets Pocock-type spending, five equally spaced looks, 5% two-sided: 2.438,
    # 2.427, 2.410, 2.397, 2.390 (Jennison & Turnbull 2000, table 7.6).
    found = sequential.boundaries((1, 2, 3, 4, 5), statistic="z")
    assert found == pytest.approx((2.438, 2.427, 2.410, 2.397, 2.390), abs=0.015)
    # With the spread estimated (Student's t), the first look with 3 seeds needs far more.
    assert sequential.boundaries(tuple(sequential.looks(16)))[0] > 6


def test_no_true_difference_keeps_false_positives_at_5_percent_across_looks():
    # delta 0: only "helps" or "costs" can stop a variant, so every stop is an error.
    found, used = simulated(0.0, delta=0.0)
    rate = false_positive_rate(found)
    assert rate <= 0.05 + MC_MARGIN, rate
    assert rate > 0.03  # the rule spends its 5%, it is not needlessly strict
    assert set(np.unique(used)) > {3, 16}  # it stopped at early looks and at the last


def test_naive_stopping_fails_the_same_check():
    naive = false_positive_rate(naive_sequence(
        np.random.default_rng(1).normal(0.0, SPREAD, (REPLICATIONS, MAX_SEEDS)), 0.0)[0])
    assert naive > 0.05 + MC_MARGIN and naive > 0.12, naive


def test_the_check_fails_if_the_rule_looks_at_95_percent_every_time(monkeypatch):
    monkeypatch.setattr(sequential, "nominal_levels",
                        lambda sizes, alpha=0.05: [alpha] * len(sizes))
    assert false_positive_rate(simulated(0.0, delta=0.0)[0]) > 0.05 + MC_MARGIN


def test_power_for_dropouts_measured_difference():
    found, used = simulated(0.6, delta=0.5)
    power = float(np.mean(found == sequential.HELPS))
    print(f"power at +0.6 points (spread 0.45): {power:.3f}, mean seeds {used.mean():.1f}")
    assert power >= 0.95 and used.mean() < 10


def test_equivalence_is_rarely_claimed_when_the_difference_is_delta():
    # At |difference| = delta the verdict "no difference larger than delta" is wrong.
    found, _ = simulated(0.5, delta=0.5)
    assert float(np.mean(found == sequential.EQUIVALENT)) <= 0.05 + MC_MARGIN
    found, used = simulated(0.0, delta=0.5)  # and with none, it is what the rule says
    assert float(np.mean(found == sequential.EQUIVALENT)) > 0.8
    assert false_positive_rate(found) <= 0.05 + MC_MARGIN


def test_intervals_and_verdicts():
    sizes = sequential.looks(16)
    interval = sequential.repeated_interval([0.5, 0.7, 0.6, 0.9, 0.4], 1, sizes)
    assert interval["n"] == 5 and interval["mean"] == pytest.approx(0.62)
    plain = stats.t.isf(0.025, 4) * interval["std"] / math.sqrt(5)
    assert interval["ci_high"] - interval["mean"] > plain  # wider than a one-look 95%
    assert interval["level"] > 0.95
    assert sequential.decide(interval, 0.5) == sequential.HELPS
    assert sequential.decide({"ci_low": -0.2, "ci_high": 0.3}, 0.5) == sequential.EQUIVALENT
    assert sequential.decide({"ci_low": -0.2, "ci_high": 0.7}, 0.5) is None
    assert sequential.decide({"ci_low": -0.9, "ci_high": -0.1}, 0.5) == sequential.COSTS
    assert math.isnan(sequential.repeated_interval([0.3], 0, sizes)["ci_low"])


def test_seeds_needed_is_largest_halfway_between_zero_and_delta():
    # At a mean of delta / 2 the interval must shrink the most to decide either way.
    needed = {mean: sequential.seeds_needed(mean, SPREAD, 3, 16, 0.5)
              for mean in (0.0, 0.1, 0.25, 0.4, 0.6)}
    assert needed[0.0] < needed[0.1] < needed[0.25] and needed[0.6] < needed[0.4] < needed[0.25]
    assert needed[0.1] <= 16 < needed[0.25]  # within this plan, and beyond it
    mean, size = 0.25, needed[0.25]
    for seeds, decides in ((size, True), (size - sequential.ROUND, False)):
        level = sequential.nominal_levels(sequential.looks(seeds))[-1]
        half = stats.t.isf(level / 2, seeds - 1) * SPREAD / math.sqrt(seeds)
        assert bool(sequential.decide({"ci_low": mean - half, "ci_high": mean + half},
                                      0.5)) is decides
    assert sequential.seeds_needed(0.25, 1.0, 16, 16, 0.5) is None  # not within 64 seeds
    assert sequential.seeds_needed(math.nan, SPREAD, 1, 16, 0.5) is None
