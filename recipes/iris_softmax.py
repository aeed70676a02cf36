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
# Change them here. The command line's flags start from them (`python -m
# recipes.iris_softmax --epochs 50`; `--help` lists them), and so does the notebook's
# parameters cell below.

# %%
SETTINGS = {
    "hidden": 16,  # units in the hidden layer
    "learning_rate": 0.01,  # Adam's learning rate
    "epochs": 100,  # passes over the 96 training flowers
    "batch_size": 16,  # flowers per gradient step
    "seed": 0,  # the random seed of the first weights and of the batches' order
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] runs the recipe at its full
# settings (100 epochs, seconds on Iris), which the saved outputs show; ["--quick"]
# trains 2 epochs.
NOTEBOOK_ARGS = []

# %% [markdown]
# ## Setup

# %%
import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("common") is None:  # not installed: python recipes/NAME.py
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # the project, one folder up

from common import cli, lesson

# The one line of plumbing: the settings this run takes (the flags over SETTINGS), and
# where its results go.
run = lesson.start("iris_softmax", globals(), datasets=("iris",), default_dataset="iris",
                   resumable=True, types={"hidden": cli.positive_int,
                                          "learning_rate": cli.positive_float})
settings = run.settings

# %% [markdown]
# ## The cells to copy
# Data, model, training and evaluation: Keras (tf.data feeds the training) and
# scikit-learn, nothing from this project. Pasted into an empty notebook they train a
# model end to end: `python -m recipes show iris_softmax` prints them with the lines
# that call them. The data, training and evaluation cells are the same in every
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
# ## The data
# The Data cell's split, as the run loads it: from scikit-learn (or tfds, where it is
# installed), named by its source in the results.

# %%
data = run.load_data()
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.val, data.test

# %% [markdown]
# ## Train
# The same seed gives the same first weights and the same batches. `run.callbacks` adds
# what a run needs and a lesson need not show: a stop on a NaN loss, Ctrl-C that keeps
# every finished epoch, `--resume` (which starts `fit` from `initial_epoch`), and
# a line per epoch (every few epochs on a long run).

# %%
import keras  # here: the flags chose its backend, and the data loaded first

keras.utils.set_random_seed(settings["seed"])
model = build_model(x_train.shape[1], data.num_classes, settings["hidden"],
                    settings["learning_rate"])
model.summary()
callbacks, initial_epoch = run.callbacks(model)
history = train(model, x_train, y_train, x_val, y_val, epochs=settings["epochs"],
                batch_size=settings["batch_size"], seed=settings["seed"],
                callbacks=callbacks, initial_epoch=initial_epoch, verbose=run.verbose)

# %% [markdown]
# ## Evaluate, once on the test split
# Every choice was made on validation; the test split is read here, once.

# %%
scores = evaluate(model, {"train": (x_train, y_train), "validation": (x_val, y_val),
                          "test": (x_test, y_test)})
results = run.finish_training({"iris_softmax": run.record(model, history, scores)})
