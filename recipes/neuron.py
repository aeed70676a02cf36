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
# as one matrix product: `activation(x @ kernel + bias)`.

# %% [markdown]
# ## Setup

# %%
import importlib.util
import sys
from pathlib import Path

import numpy as np

# Not installed with pip? Then the project's packages are one folder up, from this file
# (recipes/) and from its notebook, which runs in notebooks/.
if importlib.util.find_spec("common") is None:
    here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
    sys.path.append(str(here.resolve().parent))

from common import cli, notebook, runs
from common.errors import UsageError

ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "softplus": lambda z: np.log1p(np.exp(z)),
}

# %% [markdown]
# ## The cell to copy
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
# ## Run

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("neuron", __doc__)
    parser.add_argument("--inputs", type=cli.number_list, default=[0.5, -1.0, 2.0],
                        help="the inputs x, comma-separated")
    parser.add_argument("--weights", type=cli.number_list, default=[0.4, -0.3, 0.2],
                        help="the weights w, one per input")
    parser.add_argument("--bias", type=cli.finite_float, default=0.1, help="the bias b")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), default="relu",
                        help="the activation f")
    args = parser.parse_args(argv)
    x, w = np.array(args.inputs), np.array(args.weights)
    if len(x) != len(w):
        raise UsageError(f"--weights: need one weight per input ({len(x)}), got {len(w)}")

    terms = " + ".join(f"({wi:g})({xi:g})" for wi, xi in zip(w, x))
    z = float(np.dot(w, x) + args.bias)
    a = float(ACTIVATIONS[args.activation](z))
    print(f"z = w . x + b = {terms} + ({args.bias:g}) = {z:.6g}")
    print(f"a = {args.activation}(z) = {a:.6g}")

    layer = dense_unit(w, args.bias, args.activation)
    keras_a = float(np.asarray(layer(x.reshape(1, -1).astype("float32")))[0, 0])
    print(f"Keras Dense(1, activation='{args.activation}') gives {keras_a:.6g} "
          f"(|difference| {abs(keras_a - a):.1e}, float32)")

    results = {"recipe": "neuron", "inputs": args.inputs, "weights": args.weights,
               "bias": args.bias, "activation": args.activation, "z": z, "a": a,
               "keras_a": keras_a}
    runs.save_results("neuron", args.out, results)
    return results


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe.
# From a terminal: `python -m recipes.neuron` with the same flags (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] for the example numbers, or your own, e.g.
# ["--inputs", "1,2", "--weights", "0.5,-1", "--bias", "0", "--activation", "sigmoid"].
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
