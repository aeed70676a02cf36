"""Reference solution: exercises/03_gradient_step.py."""

import keras
import tensorflow as tf


def gradient_step(model, x, y, learning_rate):
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        probabilities = model(x, training=True)
        # fit minimizes the loss plus every regularizer's penalty (model.losses).
        loss = loss_fn(y, probabilities) + sum(model.losses)
    gradients = tape.gradient(loss, model.trainable_weights)
    for weight, gradient in zip(model.trainable_weights, gradients):
        weight.assign(weight - learning_rate * gradient)
