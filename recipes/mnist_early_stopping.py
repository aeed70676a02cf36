"""
Title: Early stopping, with the best weights restored
Slide topic: Early stopping (halt training once validation performance starts to degrade)
Lecture order: 130
Baselines: fast mnist-5k; full fashion_mnist; online mnist
Dataset: auto (full MNIST, else mnist-5k offline); also mnist, fashion_mnist, mnist-5k
Run: python -m recipes.mnist_early_stopping --patience 5
Description: The slides' MLP trained for up to 100 epochs; EarlyStopping halts it and restores the best epoch.
Exercises: early_stopping
Tests: tests/test_regularization.py
"""

# %% [markdown]
# `keras.callbacks.EarlyStopping` watches a validation metric after every epoch. When it
# has not improved by at least `min_delta` for `patience` epochs in a row, training
# stops; with `restore_best_weights=True` the model goes back to the weights of its best
# epoch, not the last one (without it, you keep the `patience` epochs of overfitting).
#
# The recipe reports the epoch where training stopped and the best epoch, and proves the
# restore: the validation metric of the returned model equals the best one in the history.
#
# If the model has a penalty (`--l2`), the loss Keras reports includes it, so
# `val_loss` can fall because the weights shrink while the fit to the data gets worse.
# Early stopping should watch the fit itself: the recipe then monitors the plain
# validation cross-entropy (`val_cross_entropy`, a metric without the penalty).

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.mnist_early_stopping --patience 3`; `--help` lists them), and so does the
# notebook's parameters cell below.

# %%
SETTINGS = {
    # auto: val_loss, or val_cross_entropy when there is a penalty.
    "monitor": "auto",  # the validation metric to watch
    "patience": 5,  # epochs without improvement before stopping
    "min_delta": 0.0,  # the smallest change that counts as an improvement
    "l2": 0.0,  # an optional L2 penalty on the hidden kernels
    "hidden": [300, 100],  # hidden layer widths, comma-separated
    "learning_rate": 0.001,  # Adam's learning rate
    "epochs": 100,  # the most passes over the training images; early stopping ends sooner
    # None: by the data's size, 512 on the full 55,000 images, 128 on a few thousand.
    "batch_size": None,  # images per gradient step
    "seed": 0,  # the random seed of the first weights and of the batches' order
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] runs the recipe as
# docs/teaching.md reports it (up to 100 epochs), which the saved outputs show;
# ["--quick"] is a run of seconds (2 epochs).
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
run = lesson.start(
    "mnist_early_stopping", globals(), datasets=IMAGE_DATASETS, default_dataset="auto",
    resumable=True,
    types={"patience": cli.non_negative_int, "min_delta": cli.non_negative_float,
           "l2": cli.non_negative_float, "learning_rate": cli.positive_float},
    choices={"monitor": ("auto", "val_loss", "val_cross_entropy", "val_accuracy")})
settings = run.settings

# %% [markdown]
# ## The cells to copy
# Data, model, early stopping, training and evaluation: Keras (tf.data feeds the
# training), nothing from this project. Pasted into an empty notebook they train a model
# end to end: `python -m recipes show mnist_early_stopping` prints them with the lines
# that call them. The data, training and evaluation cells are the same in every
# training recipe: they are written once, in common/lesson_cells.py, and `show` and the
# notebook print them here in full.

# %% Data (copy this cell)
from common.lesson_cells import load_mnist


# %% Model (copy this cell)
from common.lesson_cells import compile_classifier


# The slides' 300-100-10 network, with an optional L2 penalty on the hidden layers.
# compile_classifier (above) also tracks the cross-entropy that early stopping watches.
def build_model(l2=0.0, input_shape=(28, 28), num_classes=10, hidden=(300, 100),
                learning_rate=1e-3):
    import keras  # in the function: the cell needs nothing above it

    regularizer = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden:
        model.add(keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer))
    model.add(keras.layers.Dense(num_classes, activation="softmax"))
    return compile_classifier(model, learning_rate)


# %% Callbacks (copy this cell)
# Early stopping watches a validation metric after each epoch and keeps the weights of
# the best one.


def early_stopping(monitor="val_loss", patience=5, min_delta=0.0):
    import keras

    return keras.callbacks.EarlyStopping(
        monitor=monitor,
        mode="max" if "accuracy" in monitor else "min",
        patience=patience,
        min_delta=min_delta,
        restore_best_weights=True,
    )


# %% Training (copy this cell)
from common.lesson_cells import train


# %% Evaluation (copy this cell)
from common.lesson_cells import evaluate


# %% [markdown]
# ## Choosing what to monitor
# With a penalty, the validation loss includes it: it can fall because the weights
# shrink while the fit to the data gets worse. The plain cross-entropy is the fit alone.

# %%
monitor = settings["monitor"]
if monitor == "auto":
    monitor = "val_cross_entropy" if settings["l2"] else "val_loss"
    if settings["l2"]:
        print(f"monitoring {monitor}: the penalty is part of val_loss, not of the fit")
elif monitor == "val_loss" and settings["l2"]:
    print("note: with --l2 the validation loss includes the penalty; "
          "--monitor val_cross_entropy watches the fit alone")

# %% [markdown]
# ## The data
# The Data cell's split, as the run loads it (`--dataset`: full MNIST from Keras or a
# local copy, or a smaller set offline), named by its source in the results.

# %%
data = run.load_data()
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.val, data.test

# %% [markdown]
# ## Train until validation stops improving
# The same seed gives the same first weights and the same batches. The early-stopping
# callback goes in with the run's: a stop on a NaN loss, Ctrl-C that keeps every
# finished epoch, `--resume` (which starts `fit` from `initial_epoch`, and gives the
# callback back its count and best weights), and a line every few epochs.

# %%
import keras  # here: the flags chose its backend, and the data loaded first

keras.utils.set_random_seed(settings["seed"])
model = build_model(settings["l2"], x_train.shape[1:], data.num_classes, settings["hidden"],
                    settings["learning_rate"])
model.summary()
stopper = early_stopping(monitor, settings["patience"], settings["min_delta"])
callbacks, initial_epoch = run.callbacks(model, extra=[stopper])
history = train(model, x_train, y_train, x_val, y_val, epochs=settings["epochs"],
                batch_size=settings["batch_size"], seed=settings["seed"],
                callbacks=callbacks, initial_epoch=initial_epoch, verbose=run.verbose)

# %% [markdown]
# ## Evaluate, once on the test split, and check the restore
# The returned model's validation score must be the best epoch's, not the last one's.

# %%
scores = evaluate(model, {"train": (x_train, y_train), "validation": (x_val, y_val),
                          "test": (x_test, y_test)})
record = run.record(model, history, scores, monitor=monitor)
record["best_epoch"] = stopper.best_epoch + 1  # the callback's own (min_delta applies)

best_value = history.history[monitor][stopper.best_epoch]
restored_value = scores["validation"][monitor.removeprefix("val_")]
stopped = stopper.stopped_epoch + 1 if stopper.stopped_epoch else None
early = {"monitor": monitor, "patience": settings["patience"],
         "min_delta": settings["min_delta"], "stopped_epoch": stopped,
         "best_epoch": stopper.best_epoch + 1, "best_value": best_value,
         "restored_value": restored_value}
print(f"stopped after epoch {stopped} of at most {settings['epochs']}" if stopped else
      f"never stopped early: ran all {settings['epochs']} epochs")
print(f"best epoch {early['best_epoch']}: {monitor} = {best_value:.6f}; the returned "
      f"model gives {restored_value:.6f} (the best epoch's weights were restored)")
results = run.finish_training({"early_stopping": record}, extra={"early_stopping": early},
                              marks={"early_stopping": early["best_epoch"]})
