"""
Title: Dropout on the slides' MNIST network
Slide topic: Dropout (each unit dropped with probability p during training, typically 10-50%)
Lecture order: 120
Baselines: fast mnist-5k; full fashion_mnist --epochs 60 --batch-size 128 --cosine-decay --dropout 0.3; online mnist --epochs 40 --batch-size 128 --cosine-decay
Dataset: auto (full MNIST, else mnist-5k offline); also mnist, fashion_mnist, mnist-5k
Run: python -m recipes.mnist_dropout --dropout 0.2
Description: The 300-100-10 MLP with Dropout after each hidden layer, against the same without.
Exercises: dropout
Tests: tests/test_regularization.py
"""

# %% [markdown]
# During training, a `Dropout(p)` layer sets each of its inputs to zero with probability
# p, and multiplies the ones it keeps by 1/(1-p), so that the expected value of every unit
# is unchanged. At inference (`evaluate`, `predict`, or calling the model with
# `training=False`) it does nothing at all. The first part of this recipe shows both on
# a real batch of images.
#
# A consequence that surprises students: the training accuracy that `fit` prints is
# measured *with* dropout active, averaged over the epoch, so it is often below the
# validation accuracy, which is measured without dropout. Re-evaluating the trained model
# on the training split gives the accuracy comparable to validation; the recipe prints
# both.
#
# The slide says the typical improvement from dropout is "modest, usually around 1 to 2%".
# The comparison below measures it for one seed; `python -m tools compare` repeats it
# over several seeds.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.mnist_dropout --dropout 0.3`; `--help` lists them), and so does the notebook's
# parameters cell below.

# %%
SETTINGS = {
    "dropout": 0.2,  # dropout rate p after each hidden layer of the dropout variant, in (0, 1)
    "hidden": [300, 100],  # hidden layer widths, comma-separated
    "learning_rate": 0.001,  # Adam's learning rate
    # False: a constant learning rate.
    "cosine_decay": False,  # let the learning rate fall to 0 along a cosine over the epochs
    "epochs": 30,  # passes over the training images
    # None: by the data's size, 512 on the full 55,000 images, 128 on a few thousand.
    "batch_size": None,  # images per gradient step
    "seed": 0,  # the random seed of the first weights and of the batches' order
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] runs the recipe as
# docs/teaching.md reports it (30 epochs), which the saved outputs show; ["--quick"] is
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
run = lesson.start("mnist_dropout", globals(), datasets=IMAGE_DATASETS,
                   default_dataset="auto", resumable=True,
                   types={"dropout": cli.rate, "learning_rate": cli.positive_float})
settings = run.settings

# %% [markdown]
# ## The cells to copy
# Data, model, training, evaluation and the variants the slide compares: Keras (tf.data
# feeds the training), nothing from this project. Pasted into an empty notebook they
# train and score each variant end to end: `python -m recipes show mnist_dropout` prints
# them with the lines that call them. The data, training and evaluation cells are the same in every
# training recipe: they are written once, in common/lesson_cells.py, and `show` and the
# notebook print them here in full.

# %% Data (copy this cell)
from common.lesson_cells import load_mnist


# %% Model (copy this cell)
from common.lesson_cells import compile_classifier


# The Dropout slide's 300-100-10 network, with a Dropout layer after each hidden layer
# (the slide's code imports Dropout but never adds it). rate=0 builds the same network
# without dropout layers (a Dropout(0) layer would do nothing).
def build_model(rate=0.2, input_shape=(28, 28), num_classes=10, hidden=(300, 100),
                learning_rate=1e-3, decay_steps=None):
    import keras  # in the function: the cell needs nothing above it

    if decay_steps:  # the learning rate falls from learning_rate to 0 along a cosine
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps)

    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden:
        model.add(keras.layers.Dense(units, activation="relu"))
        if rate:
            model.add(keras.layers.Dropout(rate))
    model.add(keras.layers.Dense(num_classes, activation="softmax"))
    return compile_classifier(model, learning_rate)


# %% Training (copy this cell)
from common.lesson_cells import train


# %% Evaluation (copy this cell)
from common.lesson_cells import evaluate


# %% Variants (copy this cell)
# What the slide compares: the same network with and without Dropout, trained from the
# same start (the same seed), so that only the dropout differs. `fit`'s own accuracy
# (its last epoch) is measured with units dropped while the weights still change; the
# "train" column scores the trained model without dropout, as validation is scored.


def variants(dropout=0.2):
    return {"none": {"rate": 0.0}, "dropout": {"rate": dropout}}


def measure(model, history):
    return {"fit_accuracy": history.history["accuracy"][-1]}


# %% Demonstration (copy this cell)
# What the slide says a Dropout layer does, on 64 real training images: in training it
# sets each input to 0 with probability p and multiplies the others by 1/(1-p), so that
# every unit's expected value is unchanged; at inference it returns its input as it is.
# The rate is the dropout variant's.


def dropout_on_a_batch(images, rate, seed=0):
    import keras
    import numpy as np

    layer = keras.layers.Dropout(rate, seed=seed)
    x = images.reshape(len(images), -1)
    in_training = np.asarray(layer(x, training=True))
    at_inference = np.asarray(layer(x, training=False))
    lit = x > 0  # pixels that carry ink, so a zero means "dropped"
    kept = lit & (in_training != 0)
    return {
        "rate": rate,
        "inference_equals_input": bool(np.array_equal(at_inference, x)),
        "dropped_fraction": float(1 - kept.sum() / lit.sum()),
        "kept_scale": float(np.median(in_training[kept] / x[kept])),
        "expected_scale": 1 / (1 - rate),
    }


def demonstrate(x_train, dropout=variants()["dropout"]["rate"], seed=0):
    batch = dropout_on_a_batch(x_train[:64], dropout, seed)
    print(f"Dropout({dropout:g}) on 64 training images: in training it zeroed "
          f"{batch['dropped_fraction']:.1%} of the inked pixels and scaled the others by "
          f"{batch['kept_scale']:.4f} (1/(1-p) = {batch['expected_scale']:.4f}); at inference "
          f"it returned its input unchanged: {batch['inference_equals_input']}")
    return batch


# %% [markdown]
# ## The data
# The Data cell's split, as the run loads it (`--dataset`: full MNIST from Keras or a
# local copy, or a smaller set offline), named by its source in the results.

# %%
data = run.load_data()
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.val, data.test
splits = {"train": (x_train, y_train), "validation": (x_val, y_val), "test": (x_test, y_test)}
steps = settings["epochs"] * -(-len(y_train) // settings["batch_size"])  # ceil: the last batch

# %% [markdown]
# ## What a Dropout layer does, on real images

# %%
import keras  # here: the flags chose its backend, and the data loaded first

keras.utils.set_random_seed(settings["seed"])
batch = demonstrate(x_train, settings["dropout"], settings["seed"])

# %% [markdown]
# ## Train with and without dropout, from the same start
# The same seed before each variant gives both the same first weights and the same
# batches: only the dropout differs. `run.callbacks` adds what a run needs and a lesson
# need not show: a stop on a NaN loss, Ctrl-C that keeps every finished epoch,
# `--resume` (which starts `fit` from `initial_epoch`), and a line every few epochs.

# %%
records = {}
for name, variant in variants(settings["dropout"]).items():
    print(f"--- {name}: {variant}")
    keras.utils.set_random_seed(settings["seed"])
    model = build_model(**variant, input_shape=x_train.shape[1:], num_classes=data.num_classes,
                        hidden=settings["hidden"], learning_rate=settings["learning_rate"],
                        decay_steps=steps if settings["cosine_decay"] else None)
    callbacks, initial_epoch = run.callbacks(model, name)
    history = train(model, x_train, y_train, x_val, y_val, epochs=settings["epochs"],
                    batch_size=settings["batch_size"], seed=settings["seed"],
                    callbacks=callbacks, initial_epoch=initial_epoch, verbose=run.verbose)
    records[name] = run.record(model, history, evaluate(model, splits), variant=variant)
    records[name]["fit_accuracy_last_epoch"] = history.history["accuracy"][-1]

# %% [markdown]
# ## The accuracy `fit` prints, and the model's
# `fit`'s accuracy is measured with units dropped while the weights still change; the
# trained model, re-evaluated on the training split, is scored as validation is.

# %%
print(f"\n{'variant':<10} {'fit accuracy, last epoch':>25} {'train re-evaluated':>19} "
      f"{'validation':>11}")
for name, record in records.items():
    print(f"{name:<10} {record['fit_accuracy_last_epoch']:>25.4f} "
          f"{record['train_accuracy']:>19.4f} {record['val_accuracy']:>11.4f}")
print("(fit's accuracy is measured with dropout on, while the weights still change; "
      "re-evaluated, the model is scored as validation is)")
results = run.finish_training(records, main="dropout", extra={"dropout_on_a_batch": batch})
