"""
Title: The slide's L2 penalty in a full MNIST model
Slide topic: Keras example of l2 regularization: Dense(50, kernel_regularizer=l2(0.001))
Lecture order: 100
Baselines: fast mnist-5k; full fashion_mnist --epochs 20; online mnist
Dataset: auto (full MNIST, else mnist-5k offline); also mnist, fashion_mnist, mnist-5k
Run: python -m recipes.mnist_l2 --l2 0.001
Description: Dense(50) with L2(0.001) on its kernel, against the same model without the penalty.
Exercises: keras_penalty
Tests: tests/test_regularization.py
"""

# %% [markdown]
# The slide's example puts `kernel_regularizer=l2(0.001)` on a `Dense(50)` layer. Here
# that layer is the hidden layer of a complete digit classifier, and the softmax output
# layer carries the same penalty. The same network is trained twice from the same initial
# weights, without and with the penalty, long enough for the unpenalized one to overfit.
#
# What to look for: the penalty makes the weights smaller (l2 norm of the kernels), and
# narrows the gap between training and validation accuracy. Whether it also raises test
# accuracy depends on how much the plain model overfits; the numbers say which.
#
# Keras adds 0.001 * sum(w^2) per batch to the loss it reports, so the two models' losses
# are not comparable; the model also tracks the plain cross-entropy (`cross_entropy`),
# and the best epoch is chosen by validation accuracy.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.mnist_l2 --l2 0.0001`; `--help` lists them), and so does the notebook's
# parameters cell below.

# %%
SETTINGS = {
    "l2": 0.001,  # L2 penalty factor on every kernel of the l2 variant
    "hidden": 50,  # units in the hidden layer
    "learning_rate": 0.001,  # Adam's learning rate
    "epochs": 40,  # passes over the training images
    # None: by the data's size, 512 on the full 55,000 images, 128 on a few thousand.
    "batch_size": None,  # images per gradient step
    "seed": 0,  # the random seed of the first weights and of the batches' order
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] runs the recipe as
# docs/teaching.md reports it (40 epochs), which the saved outputs show; ["--quick"] is
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

from common import cli, lesson, plots, weights
from common.datasets import IMAGE_DATASETS

# The one line of plumbing: the settings this run takes (the flags over SETTINGS), and
# where its results go.
run = lesson.start("mnist_l2", globals(), datasets=IMAGE_DATASETS, default_dataset="auto",
                   resumable=True, types={"l2": cli.positive_float, "hidden": cli.positive_int,
                                          "learning_rate": cli.positive_float})
settings = run.settings

# %% [markdown]
# ## The cells to copy
# Data, model, training, evaluation and the variants the slide compares: Keras (tf.data
# feeds the training), nothing from this project. Pasted into an empty notebook they
# train and score each variant end to end: `python -m recipes show mnist_l2` prints them
# with the lines that call them. The data, training and evaluation cells are the same in every
# training recipe: they are written once, in common/lesson_cells.py, and `show` and the
# notebook print them here in full.

# %% Data (copy this cell)
from common.lesson_cells import load_mnist


# %% Model (copy this cell)
from common.lesson_cells import compile_classifier


# L2(0.001) is the current name of the slide's l2(0.001). compile_classifier (above)
# also reports the cross-entropy without the penalty, to compare the two models fairly.
def build_model(l2=0.001, input_shape=(28, 28), num_classes=10, hidden=50,
                learning_rate=1e-3):
    import keras  # in the function: the cell needs nothing above it

    regularizer = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Flatten(),
        keras.layers.Dense(hidden, activation="relu", kernel_regularizer=regularizer),
        keras.layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer),
    ])
    return compile_classifier(model, learning_rate)


# %% Training (copy this cell)
from common.lesson_cells import train


# %% Evaluation (copy this cell)
from common.lesson_cells import evaluate


# %% Variants (copy this cell)
from common.lesson_cells import kernel_measures

# What the slide compares: the same network with and without the penalty, trained from
# the same start (the same seed), so that only the penalty differs; and what the
# penalty does to the weights, measured on each trained model.


def variants(l2=0.001):
    return {"none": {"l2": 0.0}, "l2": {"l2": l2}}


def measure(model, history):
    return kernel_measures(model)


# %% [markdown]
# ## The data
# The Data cell's split, as the run loads it (`--dataset`: full MNIST from Keras or a
# local copy, or a smaller set offline), named by its source in the results.

# %%
data = run.load_data()
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.val, data.test
splits = {"train": (x_train, y_train), "validation": (x_val, y_val), "test": (x_test, y_test)}

# %% [markdown]
# ## Train both, from the same start
# The same seed before each variant gives both the same first weights and the same
# batches: only the penalty differs. `run.callbacks` adds what a run needs and a lesson
# need not show: a stop on a NaN loss, Ctrl-C that keeps every finished epoch,
# `--resume` (which starts `fit` from `initial_epoch`), and a line every few epochs.
# The penalized loss is not comparable across variants; accuracy is, so the best epoch
# is the one with the best validation accuracy.

# %%
import keras  # here: the flags chose its backend, and the data loaded first

records, models = {}, {}
for name, variant in variants(settings["l2"]).items():
    print(f"--- {name}: {variant}")
    keras.utils.set_random_seed(settings["seed"])
    model = build_model(**variant, input_shape=x_train.shape[1:], num_classes=data.num_classes,
                        hidden=settings["hidden"], learning_rate=settings["learning_rate"])
    callbacks, initial_epoch = run.callbacks(model, name)
    history = train(model, x_train, y_train, x_val, y_val, epochs=settings["epochs"],
                    batch_size=settings["batch_size"], seed=settings["seed"],
                    callbacks=callbacks, initial_epoch=initial_epoch, verbose=run.verbose)
    scores = evaluate(model, splits)
    records[name] = run.record(model, history, scores, monitor="val_accuracy",
                               variant=variant)
    models[name] = model

# %% [markdown]
# ## Compare the weights
# What the slide claims: the penalty keeps the weights small.

# %%
weights.print_table(records)
kernel_values = {name: weights.flat_kernels(model) for name, model in models.items()}
title = f"Kernel weights, L2({settings['l2']:g}) vs none"
results = run.finish_training(records, main="l2", figures={
    "weights.png": lambda path: plots.weight_histograms(kernel_values, path, title=title)})
