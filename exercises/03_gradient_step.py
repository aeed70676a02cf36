"""
Title: One gradient step by hand, equal to model.fit's
Slide topic: Backpropagation: forward pass, loss calculation, backward pass
Functions: gradient_step(model, x, y, learning_rate)
Grade: python -m tools grade gradient_step exercises/03_gradient_step.py

Task. Write ``gradient_step(model, x, y, learning_rate)``: one step of plain gradient
descent on the whole batch (x, y), done in place on ``model`` (return nothing).

- ``model``: a Keras classifier that ends in softmax (it may have L2 penalties on its
  kernels); ``x``: a batch of inputs; ``y``: integer class labels.
- The loss L: the mean sparse categorical cross-entropy of model(x) against y, plus
  the model's penalties, ``sum(model.losses)``.
- The step: every trainable weight w becomes w - learning_rate * dL/dw.

The slide's steps, each one line: forward pass (``model(x, training=True)``) and loss
inside ``tf.GradientTape()``, backward pass with ``tape.gradient(loss,
model.trainable_weights)``, then update each weight with ``w.assign(...)``.

Done right, your step moves the weights exactly as
``model.compile(optimizer=keras.optimizers.SGD(learning_rate),
loss=keras.losses.SparseCategoricalCrossentropy())`` and then
``model.fit(x, y, batch_size=len(x), epochs=1)`` would.

The grader checks exactly that, on a plain classifier, on one with an L2 penalty, and on
one whose kernels start at zero.
"""

import keras
import tensorflow as tf


def gradient_step(model, x, y, learning_rate):
    # TODO: forward pass and loss inside tf.GradientTape (remember sum(model.losses)),
    # tape.gradient(...), then w.assign(w - learning_rate * g) for every weight.
    raise NotImplementedError("TODO: write gradient_step")
