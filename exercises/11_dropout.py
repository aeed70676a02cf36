"""
Title: Inverted dropout: the mask and the scaling
Slide topic: Dropout: each neuron is excluded with probability p during training
Functions: dropout(x, rate, rng, training=True)
Grade: python -m tools grade dropout exercises/11_dropout.py

Task. Write ``dropout(x, rate, rng, training=True)`` as Keras' ``Dropout(rate)`` layer
works ("inverted dropout"):

- training: each entry of x is dropped (set to 0) with probability ``rate``,
  independently of the others, and every entry that is kept is divided by (1 - rate),
  so each output's expected value equals its input;
- not training (``training=False``): return x unchanged; thanks to the scaling during
  training, inference needs no change at all.

Draw the random numbers from ``rng`` (a ``np.random.Generator``, e.g.
``np.random.default_rng(0)``), so that the same seed gives the same mask. Return a new
array of x's shape; leave x itself unchanged.

Example: with rate 0.5, the input [1, 2, 3, 4] may become [2, 0, 6, 0].

The grader checks inference, rate 0, the fraction of entries dropped, the scaling of
the kept ones, the mean output, reproducibility with the rng, a 3-D input, and that x
is left as it was.
"""

import numpy as np


def dropout(x, rate, rng, training=True):
    # TODO: not training: return x as it is. Training: keep = rng.random(x.shape) >= rate,
    # then kept entries / (1 - rate), dropped ones 0.
    raise NotImplementedError("TODO: write dropout")
