"""
Title: One neuron: dot product, bias, activation
Slide topic: What a unit computes (weighted sum of the inputs, plus a bias, then an activation)
Lecture order: 10
Dataset: none (example numbers, or your own with --inputs, --weights, --bias)
Run: python -m recipes.neuron --inputs "0.5,-1,2" --weights "0.4,-0.3,0.2" --bias 0.1
Description: A unit computed by hand equals a one-unit Keras Dense layer.
Exercises: neuron
Tests: tests/test_lecture_math.py
"""

# %% [markdown]
# Each unit computes z = w . x + b (a dot product plus a bias) and outputs a = f(z) for
# its activation f. A `Dense(n)` layer is n such units side by side, computed together
# as one matrix product: `activation(x @ kernel + bias)`. This lesson computes one unit
# by hand, then lets Keras compute the same unit, and compares.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m recipes.neuron
# --inputs 1,2 --weights 0.5,-1 --bias 0`; `--help` lists them), and so does the
# notebook's parameters cell below.

# %%
SETTINGS = {
    "inputs": [0.5, -1.0, 2.0],  # the inputs x, comma-separated
    "weights": [0.4, -0.3, 0.2],  # the weights w, one per input
    "bias": 0.1,  # the bias b
    "activation": "relu",  # the activation f: linear, relu, sigmoid, tanh or softplus
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] takes them as they are; e.g.
# ["--inputs", "1,2", "--weights", "0.5,-1", "--bias", "0", "--activation", "sigmoid"].
NOTEBOOK_ARGS = []

# %% [markdown]
# ## Setup
# The activations by hand, and the run: `lesson.start` reads the flags over SETTINGS and
# knows where the results go (a new folder under runs/, or `--out DIR`).

# %%
import importlib.util
import sys
from pathlib import Path

import numpy as np

if importlib.util.find_spec("common") is None:  # not installed: python recipes/NAME.py
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # the project, one folder up

from common import lesson
from common.errors import UsageError

# Written as log(1 + exp(z)), softplus overflows for z above about 710; logaddexp(0, z)
# is the same number, computed without overflow (and sigmoid(z) = exp(-softplus(-z))).
ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: np.exp(-np.logaddexp(0.0, -z)),
    "tanh": np.tanh,
    "softplus": lambda z: np.logaddexp(0.0, z),
}

run = lesson.start("neuron", globals(), choices={"activation": ACTIVATIONS})
settings = run.settings

# %% [markdown]
# ## By hand
# z = w . x + b, then a = f(z).

# %%
x, w, b = np.array(settings["inputs"]), np.array(settings["weights"]), settings["bias"]
if len(x) != len(w):
    raise UsageError(f"--weights: need one weight per input ({len(x)}), got {len(w)}")
activation = settings["activation"]

terms = " + ".join(f"({wi:g})({xi:g})" for wi, xi in zip(w, x))
z = float(np.dot(w, x) + b)
a = float(ACTIVATIONS[activation](z))
print(f"z = w . x + b = {terms} + ({b:g}) = {z:.6g}")
print(f"a = {activation}(z) = {a:.6g}")

# %% [markdown]
# ## The cell to copy: the same unit in Keras
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show neuron`.

# %% Model (copy this cell)
# The same unit as a Keras layer: Dense(1) holds a kernel of shape (inputs, 1) and a bias
# of shape (1,). Setting them to w and b makes the layer compute exactly w . x + b.
import numpy as np


def dense_unit(weights, bias, activation="relu"):
    import keras

    layer = keras.layers.Dense(1, activation=activation)
    layer.build((None, len(weights)))
    layer.set_weights([np.asarray(weights, dtype="float32").reshape(-1, 1),
                       np.asarray([bias], dtype="float32")])
    return layer


# %% [markdown]
# ## By Keras, and the difference
# Keras computes in float32, so the two agree to about 1e-7 of the value, not exactly.

# %%
layer = dense_unit(w, b, activation)
keras_a = float(np.asarray(layer(x.reshape(1, -1).astype("float32")))[0, 0])
print(f"Keras Dense(1, activation='{activation}') gives {keras_a:.6g} "
      f"(|difference| {abs(keras_a - a):.1e}, float32)")

results = run.finish({"inputs": settings["inputs"], "weights": settings["weights"],
                      "bias": b, "activation": activation, "z": z, "a": a,
                      "keras_a": keras_a})
