"""
Title: Cross-entropy, by hand and in Keras
Slide topic: Cross-entropy loss function (one example, then a dataset)
Lecture order: 60
Dataset: none (the slide's Iris example, or your own with --probs and --label)
Run: python -m recipes.cross_entropy --probs "0.22,0.7,0.08" --label 1
Description: The slide's three Iris losses, the dataset average, and what Keras computes.
Exercises: cross_entropy, cross_entropy_logits
Tests: tests/test_lecture_math.py
"""

# %% [markdown]
# For one example with one-hot target y and predicted probabilities y_hat,
#
#     J = -sum_k y_k log(y_hat_k)   =   -log(probability given to the true class)
#
# and for N examples the loss is the average of those. The slide's example orders the
# Iris classes (Versicolour, Setosa, Virginica), so Setosa is [0, 1, 0]. The slide's
# losses use the natural logarithm.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.cross_entropy --probs "0.1,0.8,0.1" --label 1`; `--help` lists them), and so
# does the notebook's parameters cell below.

# %%
SETTINGS = {
    # the predicted probabilities, one row per example: comma-separated, rows separated by
    # ';' (a softmax's outputs: each in [0, 1], each row summing to 1)
    "probs": [[0.22, 0.7, 0.08], [0.7, 0.22, 0.08], [0.7, 0.08, 0.22]],
    "label": 1,  # the index of the true class, from 0 (1: Setosa)
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] for the slide's example, or your
# own, e.g. ["--probs", "0.1,0.8,0.1", "--label", "1"].
NOTEBOOK_ARGS = []

# %% [markdown]
# ## Setup
# What the run takes: the settings, checked (a row that is not a probability
# distribution, or a label that is no class, is refused in one line).

# %%
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np

if importlib.util.find_spec("common") is None:  # not installed: python recipes/NAME.py
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # the project, one folder up

from common import cli, lesson
from common.errors import UsageError

# The slide's example: the Iris classes in its order, Setosa true, three predictions and
# the losses it prints (4 decimals).
SLIDE_CLASSES = ("Versicolour", "Setosa", "Virginica")
SLIDE_PREDICTIONS = [[0.22, 0.7, 0.08], [0.7, 0.22, 0.08], [0.7, 0.08, 0.22]]
SLIDE_LABEL = 1
SLIDE_LOSSES = (0.3567, 1.5141, 2.5257)


def check_probs(rows, label):
    for row in rows:
        if len(row) < 2:
            raise UsageError(f"--probs: a row needs a probability for each of at least 2 "
                             f"classes, got {row}")
        if any(p < 0 or p > 1 for p in row):
            raise UsageError(f"--probs: probabilities must be in [0, 1], got {row}")
        if abs(sum(row) - 1) > 1e-3:
            raise UsageError(f"--probs: probabilities must sum to 1, {row} sums to "
                             f"{sum(row):.4g}; pass softmax outputs")
        if not 0 <= label < len(row):
            raise UsageError(f"--label: must be a class index from 0 to {len(row) - 1}, "
                             f"got {label}")
    if len({len(row) for row in rows}) > 1:
        raise UsageError("--probs: every row needs the same number of classes")


run = lesson.start("cross_entropy", globals(), types={"label": cli.non_negative_int})
probs, label = run.settings["probs"], run.settings["label"]
probs = [list(row) for row in (probs if isinstance(probs[0], list) else [probs])]  # rows
check_probs(probs, label)
slide = probs == SLIDE_PREDICTIONS and label == SLIDE_LABEL

# %% [markdown]
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show cross_entropy`.

# %% Model (copy this cell)
# Cross-entropy by hand, for one example and averaged over a dataset. Terms with
# y_k = 0 contribute nothing (0 * log 0 is taken as 0), so only the true class counts.
import numpy as np


def cross_entropy(one_hot, probs):
    one_hot, probs = np.broadcast_arrays(np.asarray(one_hot, float), np.asarray(probs, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(one_hot > 0, one_hot * np.log(probs), 0.0)
    return -np.sum(terms, axis=-1)


def mean_cross_entropy(one_hot, probs):
    return float(np.mean(cross_entropy(one_hot, probs)))


# %% [markdown]
# ## The same losses from Keras
# Keras offers the loss for one-hot targets (`CategoricalCrossentropy`) and for integer
# labels (`SparseCategoricalCrossentropy`); both average over the batch, like the
# dataset formula. `from_logits=True` means "these are raw scores, apply softmax
# first": it is the right flag for a last layer without softmax, and it is more
# accurate, because log(softmax(z)) is computed in one stable step.

# %%
def keras_losses(label, probs) -> dict:
    import keras

    probs = np.asarray(probs, dtype=np.float32)
    n, k = probs.shape
    one_hot = np.eye(k, dtype=np.float32)[[label] * n]
    labels = np.full(n, label)
    # Any logits whose softmax is probs; a probability of 0 would need -inf, so it is
    # taken as 1e-7, Keras' own clipping (see below).
    logits = np.log(np.clip(probs, 1e-7, 1.0))

    def as_float(value):
        return float(np.asarray(value))

    return {
        "CategoricalCrossentropy": as_float(
            keras.losses.CategoricalCrossentropy()(one_hot, probs)),
        "SparseCategoricalCrossentropy": as_float(
            keras.losses.SparseCategoricalCrossentropy()(labels, probs)),
        "CategoricalCrossentropy(from_logits=True) on logits": as_float(
            keras.losses.CategoricalCrossentropy(from_logits=True)(one_hot, logits)),
        # The classic mistake: probabilities passed where logits are expected.
        "mistake: from_logits=True on probabilities": as_float(
            keras.losses.CategoricalCrossentropy(from_logits=True)(one_hot, probs)),
    }


# %% [markdown]
# ## A probability of zero
# By hand, -log(0) is infinite. Keras clips predicted probabilities to
# [epsilon, 1 - epsilon] (epsilon = 1e-7) before the log, so one confident mistake costs
# -log(1e-7) = 16.12 instead of making the whole batch's loss infinite (and its
# gradients NaN).

# %%
def zero_probability_losses():
    import keras

    probs = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    one_hot = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    by_hand = float(cross_entropy(one_hot, probs)[0])
    in_keras = float(np.asarray(keras.losses.CategoricalCrossentropy()(one_hot, probs)))
    return by_hand, in_keras, -math.log(keras.config.epsilon())


# %% [markdown]
# ## The slide's losses, by hand and by Keras

# %%
k = len(probs[0])
one_hot = np.eye(k)[label]
names = SLIDE_CLASSES if slide else tuple(f"class {i}" for i in range(k))

print(f"True class: {names[label]}, one-hot {one_hot.astype(int).tolist()}")
losses = cross_entropy(one_hot, probs)
for row, loss in zip(probs, losses):
    shown = ", ".join(f"**{p}**" if i == label else f"{p}" for i, p in enumerate(row))
    print(f"  [{shown}]  loss = -log({row[label]}) = {loss:.4f}")
mean = mean_cross_entropy(one_hot, probs)
print(f"Dataset of these {len(probs)} example(s): mean loss L = {mean:.4f}")
if slide:
    print("The slide prints " + ", ".join(f"{v:.4f}" for v in SLIDE_LOSSES) + ": "
          + ("the same" if tuple(np.round(losses, 4)) == SLIDE_LOSSES else "DIFFERENT"))

in_keras = keras_losses(label, probs)
print("Keras on the same batch (float32):")
for name, value in in_keras.items():
    print(f"  {name:<52} {value:.4f}")
by_hand, clipped, cap = zero_probability_losses()
print(f"Probability 0 for the true class: by hand {by_hand}, Keras {clipped:.4f} "
      f"(clipped at -log(epsilon) = {cap:.4f})")

results = run.finish({"source": "slide" if slide else "user", "label": label, "probs": probs,
                      "losses": losses.tolist(), "mean_loss": mean, "keras": in_keras,
                      "zero_probability": {"by_hand": "inf", "keras": clipped}})
