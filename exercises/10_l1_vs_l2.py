"""
Title: Why L1 makes weights exactly 0 and L2 does not
Slide topic: l1 regularization promotes sparsity; l2 promotes small, distributed weights
Functions: l1_weight(a, alpha), l2_weight(a, beta), near_zero_fraction(w, threshold=1e-3)
Grade: python -m tools grade l1_vs_l2 exercises/10_l1_vs_l2.py

Setting. Take one weight w whose unpenalized loss (w - a)^2 is smallest at w = a, and add
a penalty. Where is the penalized loss smallest?

    L1:  (w - a)^2 + alpha |w|        L2:  (w - a)^2 + beta w^2

Task.
1. ``l1_weight(a, alpha)``: the w that minimizes the L1 loss, for every entry of the
   array a. Hint: for w > 0 set the derivative 2(w - a) + alpha to 0; the same for
   w < 0; if neither solution lies on its own side, the minimum is at w = 0 (where |w|
   has its kink).
2. ``l2_weight(a, beta)``: the w that minimizes the L2 loss, for every entry of a.
3. ``near_zero_fraction(w, threshold=1e-3)``: the fraction of entries of w (any shape)
   with |w| strictly below threshold.

Example: l2_weight(3.0, 0.5) = 2.0.

The grader checks both minimizers on random a, that L1 puts every |a| <= alpha/2 at
exactly 0, that L2 never reaches 0, no penalty at all, the fraction, and how many of
1,000 random weights each penalty sets (near) zero at equal strength.
"""

import numpy as np


def l1_weight(a, alpha):
    # TODO: solve the L1 case as the hint says; np.sign and np.maximum help.
    raise NotImplementedError("TODO: write l1_weight")


def l2_weight(a, beta):
    # TODO: set the derivative of (w - a)^2 + beta w^2 to 0 and solve for w.
    raise NotImplementedError("TODO: write l2_weight")


def near_zero_fraction(w, threshold=1e-3):
    # TODO: the mean of (|w| < threshold) over every entry.
    raise NotImplementedError("TODO: write near_zero_fraction")
