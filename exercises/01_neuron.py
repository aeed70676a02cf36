"""
Title: What one unit computes
Slide topic: Each unit computes a weighted sum of its inputs, adds a bias, applies an activation
Functions: neuron_output(x, weights, bias, activation)
Grade: python -m tools grade neuron exercises/01_neuron.py

Task. Write ``neuron_output(x, weights, bias, activation)``: the output of one unit,

    activation(x . weights + bias)

- ``x``: the inputs, a vector of n numbers, or a batch of them (an array with one
  example per row, shape (batch, n)); ``weights``: n numbers; ``bias``: one number.
- ``activation``: one of "linear" (no activation), "relu" (max(a, 0)), "sigmoid"
  (1 / (1 + exp(-a))) or "tanh".
- Return one number for one example, and one output per row for a batch.

Example: neuron_output([1, 2], [0.5, -1], 0.5, "relu") is max(0.5 - 2 + 0.5, 0) = 0.

The grader checks each activation on random inputs (positive and negative weighted
sums), a batch, all-zero weights, and a sigmoid of a huge weighted sum (+-800), which
must come out as 1 or 0, not NaN.
"""

import numpy as np


def neuron_output(x, weights, bias, activation="linear"):
    # TODO: the weighted sum a = x . weights + bias (np.dot or @ works for one example
    # and for a batch), then apply the activation named by `activation`.
    raise NotImplementedError("TODO: write neuron_output")
