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
# Change them here. The command line's flags start from them (`python -m
# recipes.mnist_mlp --epochs 20`; `--help` lists them), and so does the notebook's
# parameters cell below.

# %%
SETTINGS = {
    "hidden": [300, 100],  # hidden layer widths, comma-separated
    "learning_rate": 0.001,  # Adam's learning rate
    "epochs": 10,  # passes over the training images
    # None: by the data's size, 512 on the full 55,000 images, 128 on a few thousand.
    "batch_size": None,  # images per gradient step
    "seed": 0,  # the random seed of the first weights and of the batches' order
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] runs the recipe as
# docs/teaching.md reports it (10 epochs), which the saved outputs show; ["--quick"] is
# a run of seconds (2 epochs).
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
from common.datasets import IMAGE_DATASETS

# The one line of plumbing: the settings this run takes (the flags over SETTINGS), and
# where its results go.
run = lesson.start("mnist_mlp", globals(), datasets=IMAGE_DATASETS, default_dataset="auto",
                   resumable=True, types={"learning_rate": cli.positive_float})
settings = run.settings

# %% [markdown]
# ## The cells to copy
# Data, model, training and evaluation: Keras (tf.data feeds the training), nothing
# from this project. Pasted into an empty notebook
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
# ## The data
# The Data cell's split, as the run loads it (`--dataset`: full MNIST from Keras or a
# local copy, or a smaller set offline), named by its source in the results.

# %%
data = run.load_data()
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.val, data.test

# %% [markdown]
# ## What the slide's model does without Flatten
# The same layers with no Flatten: one softmax per image *row*. Training it against one
# label per image fails with a shape error, which is the lucky outcome.

# %%
import keras  # here: the flags chose its backend, and the data loaded first

# The seed first: every layer built from here on draws its first weights from it.
keras.utils.set_random_seed(settings["seed"])
slide_model = keras.Sequential([
    keras.Input(shape=x_train.shape[1:]),
    keras.layers.Dense(300, activation="relu"),
    keras.layers.Dense(100, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
print(f"slide's model without Flatten outputs {slide_model.output_shape}: one softmax per "
      "image row")

# %% [markdown]
# ## Train
# The seed set above gives the same first weights and the same batches. `run.callbacks` adds
# what a run needs and a lesson need not show: a stop on a NaN loss, Ctrl-C that keeps
# every finished epoch, `--resume` (which starts `fit` from `initial_epoch`), and
# a line per epoch (every few epochs on a long run).

# %%
model = build_model(x_train.shape[1:], data.num_classes, settings["hidden"],
                    settings["learning_rate"])
print(f"with Flatten: {model.output_shape}, one softmax per image")
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
results = run.finish_training(
    {"mnist_mlp": run.record(model, history, scores)},
    extra={"slide_model_output_shape": list(slide_model.output_shape)})
