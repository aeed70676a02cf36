"""
Title: How wide must one hidden layer be?
Slide topic: A sufficiently large single-layer network can approximate any continuous function
Functions: relu_width(xs, ys), relu_network(xs, ys)
Grade: python -m tools grade network_width exercises/02_network_width.py

Why. A continuous curve can be approximated as closely as we like by straight pieces
between points on it. This exercise counts exactly how many hidden units such a curve
costs: the more pieces, the wider the layer, which is what "sufficiently large" means.

The network: one input x, one hidden layer of ReLU units, one linear output,

    f(x) = W2 . relu(W1 x + b1) + b2      (Keras: Dense(width, "relu"), then Dense(1))

The curve: through the points (xs[i], ys[i]) (xs increasing), straight between
neighbouring points, and flat outside: ys[0] left of xs[0], ys[-1] right of xs[-1].

Task.
1. ``relu_width(xs, ys)``: the fewest hidden units with which f equals the curve for
   every x. Hint: a unit relu(w x + b) is flat on one side of the point x = -b/w and
   straight on the other, so it bends f at one point. Where does the curve bend?
   (Its slope is 0 outside [xs[0], xs[-1]], so the ends may be bends too.)
2. ``relu_network(xs, ys)``: weights (W1, b1, W2, b2) of such a network with exactly
   that many units, shaped as Keras keeps a Dense layer's weights: W1 (1, width),
   b1 (width,), W2 (width, 1), b2 (1,).

Example: xs = [0, 2], ys = [0, 4] rises from 0 to 4 and stays at 4: it bends at x = 0
(slope 0 -> 2) and at x = 2 (slope 2 -> 0), so width 2, e.g.
f(x) = 2 relu(x) - 2 relu(x - 2).

The grader checks the width of edge-case curves (a ramp, a hat, a point on a straight
stretch, a flat first segment, a constant curve) and of random curves, and loads your
weights into a Keras network that must draw the curve, inside and outside [xs[0], xs[-1]].
"""

import numpy as np


def relu_width(xs, ys):
    # TODO: the slopes: 0 left of xs[0], (ys[i+1] - ys[i]) / (xs[i+1] - xs[i]) between
    # points, 0 right of xs[-1]; count the points where the slope changes.
    raise NotImplementedError("TODO: write relu_width")


def relu_network(xs, ys):
    # TODO: one unit relu(x - k) per bend k (W1 = 1, b1 = -k), output weight = how much
    # the slope changes at k; b2 = the curve's value left of every bend.
    raise NotImplementedError("TODO: write relu_network")
