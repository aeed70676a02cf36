"""
Title: The penalty Keras adds to the loss
Slide topic: l1 and l2 regularization: loss + alpha * l1 + beta * l2; the Keras example
Functions: keras_penalty(weights, l1, l2)
Grade: python -m tools grade keras_penalty exercises/09_keras_penalty.py

Task. A network of Dense layers, each built with
``kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2)``, adds a penalty to its loss;
``sum(model.losses)`` is that penalty. Write ``keras_penalty(weights, l1, l2)`` that
computes it by hand, with NumPy: ``weights`` is a list with one ``(kernel, bias)`` pair
of arrays per layer.

Read the Keras documentation of ``keras.regularizers.L1`` and ``L2`` carefully and compare
with the slide's formula  MAE + alpha * l1 + beta * l2: is "l2" there the norm, or
something else? And which of each layer's arrays does ``kernel_regularizer`` see?

Example: one layer with kernel [[3], [-4]] and bias [7]: with l1=0.1, l2=0 the
penalty is 0.1 * (3 + 4) = 0.7.

The grader builds the Keras network with your weights and compares with
sum(model.losses): L1L2 together, L2 alone, L1 alone, and large biases.
"""

import numpy as np


def keras_penalty(weights, l1, l2):
    # TODO: add up, over every layer, l1 * (sum of |kernel entries|) plus l2 * (the
    # l2 term as Keras computes it).
    raise NotImplementedError("TODO: write keras_penalty")
