"""Reference solution: exercises/10_l1_vs_l2.py."""

import numpy as np


def l1_weight(a, alpha):
    a = np.asarray(a, dtype=float)
    return np.sign(a) * np.maximum(np.abs(a) - alpha / 2, 0.0)


def l2_weight(a, beta):
    return np.asarray(a, dtype=float) / (1.0 + beta)


def near_zero_fraction(w, threshold=1e-3):
    return float(np.mean(np.abs(np.asarray(w, dtype=float)) < threshold))
