"""Reference solution: exercises/02_network_width.py."""

import numpy as np


def _kinks(xs, ys):
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    # The curve is flat outside [xs[0], xs[-1]]: slope 0 before the first point and
    # after the last, so the ends are kinks too unless the segment next to them is flat.
    slopes = np.concatenate([[0.0], np.diff(ys) / np.diff(xs), [0.0]])
    changes = np.diff(slopes)
    bends = ~np.isclose(changes, 0.0)
    return xs[bends], changes[bends]


def relu_width(xs, ys):
    return len(_kinks(xs, ys)[0])


def relu_network(xs, ys):
    positions, changes = _kinks(xs, ys)
    width = len(positions)
    # Unit i is relu(x - k_i): 0 left of its kink, slope 1 right of it. Weighted by the
    # slope change at k_i, the units add up to the curve's slope everywhere.
    w1 = np.ones((1, width))
    b1 = -positions
    w2 = changes.reshape(width, 1)
    b2 = np.array([float(ys[0])])  # left of every kink all units are 0: the flat start
    return w1, b1, w2, b2
