"""
Title: Backpropagation in five steps, and proof that model.fit does the same
Slide topic: Backpropagation: general overview (initialize, forward, loss, backward, repeat)
Lecture order: 30
Dataset: iris
Run: python -m recipes.backprop --epochs 5
Description: The slide's training loop written out with tf.GradientTape, equal to model.fit.
Exercises: gradient_step
Tests: tests/test_lecture_math.py
"""

# %% [markdown]
# The slide's steps, each a line of code below:
#
# 1. Initialization: the layers create random weights (seeded, so reproducible).
# 2. Forward pass: `probabilities = model(x)`.
# 3. Loss calculation: cross-entropy between the labels and those probabilities.
# 4. Backward pass: `tape.gradient(loss, weights)` applies the chain rule from the loss
#    back to every weight; the optimizer then moves each weight against its gradient.
# 5. Repeat steps 2 to 4 for every batch, and every epoch. (The slide says "steps 2 to 5",
#    which would repeat the repeat.)
#
# `model.fit` runs this same loop. To show it, two copies of one network start from the
# same weights and see the same batches in the same order: one trained by the loop below,
# one by `fit`. Their weights agree to float32 rounding.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m recipes.backprop
# --epochs 20`; `--help` lists them), and so does the notebook's parameters cell below.

# %%
SETTINGS = {
    "epochs": 5,  # passes over the 96 training flowers
    "batch_size": 16,  # flowers per gradient step
    "learning_rate": 0.1,  # the SGD learning rate, > 0
    "seed": 0,  # the random seed of the first weights (both copies start from them)
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] for the recipe's 5 epochs; e.g.
# ["--epochs", "20"].
NOTEBOOK_ARGS = []

# %% [markdown]
# ## Setup
# The data: Iris, 96 flowers to train on (the same split as the Iris recipes'). This
# lesson needs TensorFlow as its backend: its backward pass is `tf.GradientTape`.

# %%
import importlib.util
import sys
from pathlib import Path

import numpy as np

if importlib.util.find_spec("common") is None:  # not installed: python recipes/NAME.py
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # the project, one folder up

from common import cli, lesson, training

run = lesson.start("backprop", globals(), datasets=("iris",), default_dataset="iris",
                   types={"learning_rate": cli.positive_float})
settings = run.settings
cli.require_backend(run.args, "tensorflow", "its backward pass is tf.GradientTape; Keras 3 "
                    "has no gradient call common to all backends")
data = training.load_data(run.args)[1]  # Iris, as common.datasets loads it
x, y = data.train

# %% [markdown]
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show backprop`.

# %% Model (copy this cell)
# A small softmax classifier, and the training loop model.fit would run, written out.
import numpy as np


def build_model(input_dim=4, num_classes=3, hidden=8, seed=0):
    import keras  # in the function: the cell needs nothing above it

    keras.utils.set_random_seed(seed)  # step 1: initialization, reproducibly
    return keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])


def train_by_hand(model, x, y, epochs, batch_size, learning_rate=0.1):
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    optimizer = keras.optimizers.SGD(learning_rate)
    epoch_losses = []
    for epoch in range(epochs):  # step 5: repeat
        batch_losses = []
        for start in range(0, len(x), batch_size):
            x_batch, y_batch = x[start:start + batch_size], y[start:start + batch_size]
            with tf.GradientTape() as tape:
                probabilities = model(x_batch, training=True)  # step 2: forward pass
                loss = loss_fn(y_batch, probabilities)  # step 3: loss
            gradients = tape.gradient(loss, model.trainable_weights)  # step 4: backward
            optimizer.apply_gradients(zip(gradients, model.trainable_weights))
            batch_losses.append(float(loss))
        epoch_losses.append(float(np.mean(batch_losses)))
    return epoch_losses


# %% [markdown]
# ## The same with model.fit

# %%
def train_with_fit(model, x, y, epochs, batch_size, learning_rate=0.1, steps_per_execution=1):
    import keras

    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  steps_per_execution=steps_per_execution)
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    return history.history["loss"]


# %% [markdown]
# ## Two copies of one network: one trained by the loop, one by `fit`

# %%
by_hand = build_model(seed=settings["seed"])
with_fit = build_model(seed=settings["seed"])
start = [w.copy() for w in by_hand.get_weights()]
if not all(np.array_equal(a, b) for a, b in zip(start, with_fit.get_weights())):
    # The comparison below means something only if both models start equal.
    raise RuntimeError("the two models start from different weights: build_model must "
                       "seed its initializers")
hand_losses = train_by_hand(by_hand, x, y, settings["epochs"], settings["batch_size"],
                            settings["learning_rate"])
fit_losses = train_with_fit(with_fit, x, y, settings["epochs"], settings["batch_size"],
                            settings["learning_rate"], run.args.steps_per_execution)

print(f"{'epoch':>5} {'loop loss':>10} {'fit loss':>10}")
for epoch, (a, b) in enumerate(zip(hand_losses, fit_losses), start=1):
    print(f"{epoch:>5} {a:>10.6f} {b:>10.6f}")
moved = max(float(np.abs(a - b).max()) for a, b in zip(start, by_hand.get_weights()))
difference = max(float(np.abs(a - b).max())
                 for a, b in zip(by_hand.get_weights(), with_fit.get_weights()))
print(f"weights moved by up to {moved:.4f}; loop vs fit differ by at most {difference:.1e}")
accuracy = float(np.mean(np.asarray(by_hand(data.x_test)).argmax(axis=1) == data.y_test))
print(f"test accuracy of the hand-trained model after {settings['epochs']} epochs: "
      f"{accuracy:.3f}")

results = run.finish({"dataset": data.name, "data_source": data.source,
                      "seed": settings["seed"], "epochs": settings["epochs"],
                      "batch_size": settings["batch_size"],
                      "learning_rate": settings["learning_rate"], "loop_losses": hand_losses,
                      "fit_losses": fit_losses, "max_weight_change": moved,
                      "max_weight_difference": difference, "test_accuracy": accuracy})
