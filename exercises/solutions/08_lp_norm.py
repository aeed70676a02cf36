"""Reference solution: exercises/08_lp_norm.py."""

import numpy as np


def lp_norm(z, p):
    return float(np.sum(np.abs(np.asarray(z, dtype=float)) ** p) ** (1.0 / p))
