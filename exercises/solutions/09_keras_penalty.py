"""Reference solution: exercises/09_keras_penalty.py."""

import numpy as np


def keras_penalty(weights, l1, l2):
    total = 0.0
    for kernel, _bias in weights:  # kernel_regularizer: biases are not penalized
        kernel = np.asarray(kernel, dtype=float)
        total += l1 * np.sum(np.abs(kernel)) + l2 * np.sum(kernel ** 2)
    return float(total)
