"""
Title: A softmax classifier for Iris
Slide topic: Output layer for multi-class classification (softmax + cross-entropy), on the slides' Iris example
Lecture order: 70
Baselines: fast iris
Dataset: iris
Run: python -m recipes.iris_softmax
Description: A small MLP with a 3-way softmax on Iris: the baseline for the Iris recipes.
Tests: tests/test_regularization.py, tests/test_baselines.py
"""

# %% [markdown]
# The cross-entropy slide's example is Iris: three classes, one softmax output per class,
# and cross-entropy as the loss. This is that classifier on the real 150 flowers: four
# standardized measurements in, one hidden ReLU layer, a softmax over the three species.
# 96 flowers train it, 24 validate it after every epoch, and 30 test it once at the end.

# %% [markdown]
# ## Settings
# What to change first: the command line's flags start from these (`--epochs`,
# `--batch-size`), and so does the notebook's parameters cell.

# %%
EPOCHS = 100
BATCH_SIZE = 16

# %% [markdown]
# ## Setup

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

# %% [markdown]
# ## The cells to copy
# Data, model, training and evaluation: Keras (tf.data feeds the training), nothing
# from this project, and what `main` below trains with. Pasted into an empty notebook
# they train a model end to end: `python -m recipes show iris_softmax` prints them with the
# lines that call them. The data, training and evaluation cells are the same in every
# training recipe: they are written once, in common/lesson_cells.py, and `show` and the
# notebook print them here in full.

# %% Data (copy this cell)
from common.lesson_cells import load_iris


# %% Model (copy this cell)
from common.lesson_cells import compile_classifier

# Three species: a softmax over 3 outputs. Integer labels (0, 1, 2) go with the sparse
# cross-entropy that `compile_classifier` sets; one-hot labels would go with
# CategoricalCrossentropy.


def build_model(input_dim=4, num_classes=3, hidden=16, learning_rate=1e-2):
    import keras  # in the function: the cell needs nothing above it

    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    return compile_classifier(model, learning_rate)


# %% Training (copy this cell)
from common.lesson_cells import train


# %% Evaluation (copy this cell)
from common.lesson_cells import evaluate


# %% [markdown]
# ## Train, then evaluate once on the test split
# `main` trains with the cells above: `training.fit` calls `train` (adding the callbacks
# for a NaN loss, Ctrl-C and `--resume`), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("iris_softmax", __doc__, datasets=("iris",),
                               default_dataset="iris", resumable=True,
                               epochs=EPOCHS,
                               batch_size=BATCH_SIZE)
    cli.add_mlp_flags(parser, build_model)  # the model cell's defaults
    args = parser.parse_args(argv)
    args, data = training.load_data(args)
    training.seed_everything(args.seed)
    model = build_model(data.input_shape[0], data.num_classes, args.hidden,
                        args.learning_rate)
    history = training.fit(train, model, data, args)
    record = training.evaluate_model(evaluate, model, data, history)
    return training.finish(data, args, {"iris_softmax": record})


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes.iris_softmax` with the same flags
# (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] runs the recipe at its full settings (100
# epochs, seconds on Iris), which the saved outputs show; ["--quick"] trains 2 epochs.
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
