"""Reference solution: exercises/06_cross_entropy.py."""

import numpy as np


def cross_entropy(y_true, y_prob):
    y_true, y_prob = np.asarray(y_true, dtype=float), np.asarray(y_prob, dtype=float)
    # 0 * log(0) is taken as 0: only classes the target gives weight contribute.
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y_true > 0, y_true * np.log(y_prob), 0.0)
    return -terms.sum(axis=-1)


def mean_cross_entropy(y_true, y_prob):
    return float(np.mean(cross_entropy(y_true, y_prob)))
