"""Reference solution: exercises/01_neuron.py."""

import numpy as np


def neuron_output(x, weights, bias, activation="linear"):
    weighted_sum = np.asarray(x, dtype=float) @ np.asarray(weights, dtype=float) + bias
    if activation == "linear":
        return weighted_sum
    if activation == "relu":
        return np.maximum(weighted_sum, 0.0)
    if activation == "sigmoid":
        # 1 / (1 + exp(-a)) overflows only to 1 / inf = 0, which is the right answer.
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-weighted_sum))
    if activation == "tanh":
        return np.tanh(weighted_sum)
    raise ValueError(f"unknown activation {activation!r}")
