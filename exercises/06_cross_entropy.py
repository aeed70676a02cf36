"""
Title: Cross-entropy from probabilities
Slide topic: Cross-entropy loss function (one example, then a dataset)
Functions: cross_entropy(y_true, y_prob), mean_cross_entropy(y_true, y_prob)
Grade: python -m tools grade cross_entropy exercises/06_cross_entropy.py

Task.
1. ``cross_entropy(y_true, y_prob)``: J = -sum_k y_k log(p_k) with the natural log, for
   one example (two vectors of K numbers: one number out) or a batch (two arrays with
   one example per row: one loss per row).
2. ``mean_cross_entropy(y_true, y_prob)``: the dataset loss L, the mean of the
   per-example losses, as one number.

``y_true`` is usually one-hot, but may be any distribution over the classes. Two cases to
get right: a term with y_k = 0 contributes nothing, even when p_k = 0 (0 * log 0 counts
as 0; NumPy would give 0 * -inf = NaN); and a probability of 0 for a class that y_true
gives weight makes the loss infinite (return inf, not a clipped number).

Example: cross_entropy([1, 0], [0.8, 0.2]) = -log(0.8) = 0.2231.

The grader checks random one-hot and soft targets, a batch, a probability of 0 on a
class the target does not have and on the class it has, and the dataset mean.
"""

import numpy as np


def cross_entropy(y_true, y_prob):
    # TODO: -sum over the last axis of y * log(p), counting terms with y = 0 as 0
    # (np.where(y_true > 0, ..., 0.0)).
    raise NotImplementedError("TODO: write cross_entropy")


def mean_cross_entropy(y_true, y_prob):
    # TODO: the mean of cross_entropy over the examples, as a float.
    raise NotImplementedError("TODO: write mean_cross_entropy")
