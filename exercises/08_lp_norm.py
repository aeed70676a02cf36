"""
Title: lp norms
Slide topic: Norms: the lp norm, the l1 and l2 norms
Functions: lp_norm(z, p)
Grade: python -m tools grade lp_norm exercises/08_lp_norm.py

Task. Write ``lp_norm(z, p)``: ||z||_p = (sum_i |z_i|^p)^(1/p), as one number, for any
p >= 1 (not only whole numbers). ``z`` may be an array of any shape, such as a layer's
kernel: its norm is that of the vector of all its entries.

Example: lp_norm([3, -4], 1) = 7 and lp_norm([3, -4], 2) = 5.

The grader checks p = 1, 2, 3 and 1.5 on a random vector with negative entries, a 3x4
kernel, and the zero vector.
"""

import numpy as np


def lp_norm(z, p):
    # TODO: absolute values, to the power p, summed over every entry, to the power 1/p.
    raise NotImplementedError("TODO: write lp_norm")
