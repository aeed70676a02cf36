"""
Title: The slides' MNIST network, written for Keras 3
Slide topic: Output layer for classification (softmax + cross-entropy); the Dropout slide's model
Lecture order: 110
Baselines: fast mnist-5k; full fashion_mnist --epochs 20; online mnist
Dataset: auto (full MNIST, else mnist-5k offline); also mnist, fashion_mnist, mnist-5k
Run: python -m recipes.mnist_mlp
Description: The 784-300-100-10 softmax MLP from the slides, trained with cross-entropy.
Tests: tests/test_mnist_mlp.py, tests/test_cli.py
"""

# %% [markdown]
# The Dropout slide shows this model:
#
# ```python
# import keras
# from keras.models import Sequential
# from keras.layers import InputLayer, Dropout, Flatten, Dense
#
# model = tf.keras.Sequential([
#     InputLayer(shape=[28, 28]),
#     Dense(300, activation="relu"),
#     Dense(100, activation="relu"),
#     Dense(10, activation="softmax")
# ```
#
# It does not run as printed, and would not learn the right thing if it did:
#
# 1. The list is never closed: `])` is missing, a SyntaxError.
# 2. `tf` is never imported; `Sequential` was imported, so use it (or `keras.Sequential`).
# 3. There is no `Flatten`. `Dense` works on the last axis only, so a 28x28 image gives
#    28 rows of 10 "probabilities" each, output shape (None, 28, 10), not one softmax per
#    image. The slide imports `Flatten` but never uses it.
#
# Keras 3 also prefers `keras.Input(shape=...)` as the first entry of a `Sequential`
# over `InputLayer`. Below is the model as the slide meant it, trained on a validation
# split taken from the training data and evaluated once on the test split.

# %% [markdown]
# ## Settings
# What to change first: the command line's flags start from these (`--epochs`,
# `--batch-size`), and so does the notebook's parameters cell.

# %%
EPOCHS = 10
BATCH_SIZE = None  # by the data's size: 512 on the full 55,000 images, 128 on a few thousand

# %% [markdown]
# ## Setup
# Everything outside the model cell is plumbing from `common`: datasets with offline
# fallbacks, the shared flags (`--help` lists them), the results record and plots.

# %%
import importlib.util
import sys
from pathlib import Path

# Not installed with pip? Then the project's packages are one folder up, from this file
# (recipes/) and from its notebook, which runs in notebooks/.
if importlib.util.find_spec("common") is None:
    here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
    sys.path.append(str(here.resolve().parent))

from common import cli, notebook, training
from common.datasets import IMAGE_DATASETS

# %% [markdown]
# ## The cells to copy
# Data, model, training and evaluation: Keras (tf.data feeds the training), nothing
# from this project, and what `main` below trains with. Pasted into an empty notebook
# they train a model end to end: `python -m recipes show mnist_mlp` prints them with the
# lines that call them. The data, training and evaluation cells are the same in every
# training recipe: they are written once, in common/lesson_cells.py, and `show` and the
# notebook print them here in full.

# %% Data (copy this cell)
from common.lesson_cells import load_mnist


# %% Model (copy this cell)
from common.lesson_cells import compile_classifier


# Flatten turns each 28x28 image into 784 numbers; two ReLU layers follow, and a softmax
# over the 10 classes gives probabilities that sum to 1, which compile_classifier (above)
# scores with the cross-entropy.
def build_model(input_shape=(28, 28), num_classes=10, hidden=(300, 100),
                learning_rate=1e-3):
    import keras  # in the function: the cell needs nothing above it

    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden:
        model.add(keras.layers.Dense(units, activation="relu"))
    model.add(keras.layers.Dense(num_classes, activation="softmax"))
    return compile_classifier(model, learning_rate)


# %% Training (copy this cell)
from common.lesson_cells import train


# %% Evaluation (copy this cell)
from common.lesson_cells import evaluate


# %% [markdown]
# ## What the slide's model does without Flatten
# The same layers with no Flatten: one softmax per image *row*. Training it against one
# label per image fails with a shape error, which is the lucky outcome.

# %%
def slide_model_output_shape(input_shape=(28, 28)):
    import keras

    model = keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    return model.output_shape


# %% [markdown]
# ## Train, then evaluate once on the test split
# `main` runs the cells above on the data `--dataset` names: `train` validates after
# every epoch, `evaluate` reads the test split once, at the end. Same seed, same numbers.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("mnist_mlp", __doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto",
                               epochs=EPOCHS, resumable=True)
    cli.add_mlp_flags(parser, build_model)  # the model cell's defaults
    args = parser.parse_args(argv)
    args, data = training.load_data(args)
    training.seed_everything(args.seed)
    print(f"slide's model without Flatten outputs {slide_model_output_shape(data.input_shape)}"
          " (one softmax per image row); with Flatten:", end=" ")
    model = build_model(data.input_shape, data.num_classes, args.hidden,
                        args.learning_rate)
    print(model.output_shape)
    history = training.fit(train, model, data, args)
    record = training.evaluate_model(evaluate, model, data, history)
    return training.finish(data, args, {"mnist_mlp": record})


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes.mnist_mlp` with the same flags (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] runs the recipe as docs/teaching.md reports it
# (10 epochs), which the saved outputs show; ["--quick"] is a run of seconds (2 epochs).
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
