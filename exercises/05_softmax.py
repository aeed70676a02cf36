"""
Title: A numerically stable softmax
Slide topic: The softmax function
Functions: softmax(z)
Grade: python -m tools grade softmax exercises/05_softmax.py

Task. Write ``softmax(z)``: the probabilities exp(z_i) / sum_j exp(z_j) for a vector of
logits z, or for each row of a batch (an array with one vector of logits per row); the
result has the shape of z, and every row sums to 1.

Written as the formula, it fails for large logits: np.exp(1000.0) is inf, and
inf / inf is NaN. Make it stable: softmax(z) = softmax(z - c) for any constant c
(the factor exp(-c) cancels), so subtract each row's largest logit first.

Example: softmax([2.0, 1.0, 0.1]) is about [0.659, 0.242, 0.099].

The grader checks random logits, a batch (one softmax per row), very large and very
negative logits, equal logits, rows that must sum to 1, and that your function leaves
its input array as it was.
"""

import numpy as np


def softmax(z):
    # TODO: z as a float array; subtract the largest logit along the last axis
    # (keepdims=True); exponentiate; divide by the sum along the last axis.
    raise NotImplementedError("TODO: write softmax")
