"""
Title: Every regularizer side by side, over several seeds
Slide topic: Regularization (l1/l2 penalties, Dropout, early stopping) and the slides' claims about them
Lecture order: 140
Baselines: fast mnist-5k; online mnist
Dataset: auto (full MNIST, else mnist-5k offline); also mnist, fashion_mnist, mnist-5k
Run: python -m recipes run compare (one seed); python -m tools compare (the comparison)
Description: One model, seven regularization variants, one seed each; python -m tools compare adds paired seeds and a report that tests the lecture's claims.
Tests: tests/test_compare.py
"""

# %% [markdown]
# Each variant is the same network (the slides' 784-300-100-10 MLP) with one change:
#
# - `baseline`: no regularization at all;
# - `l1`, `l2`, `l1l2`: a penalty on every kernel;
# - `dropout`: Dropout after each hidden layer;
# - `early_stopping`: training halts when validation loss stops improving, and the best
#   epoch's weights are restored;
# - `combined`: L2, Dropout and early stopping together.
#
# This lesson trains every variant once, from one seed, and prints them side by side: the
# gap between training and validation accuracy shows what each regularizer does to
# overfitting. One seed cannot say which variant is better by less than about half a
# point: that needs several seeds. The main job, `python -m tools compare`, trains every
# variant once per seed with these same cells. Seed s gives every variant the same initial
# weights and the same batches: the runs are *paired*, so the difference between a variant
# and the baseline is measured on equal terms, seed by seed. Seeds are added in rounds
# until each variant's verdict on test accuracy is decided (helps, costs accuracy, or no
# difference larger than --delta), under a rule that keeps wrong verdicts at 5% however
# often it looks (docs/comparison.md), and a report tests the lecture's claims.
#
# Why this default configuration: the claims are about overfitting, so the baseline has to
# overfit visibly. 3,500 training digits (mnist-5k, or a 3,500-image slice of full MNIST
# when it is available) are few for 266,610 parameters, and 40 epochs of Adam take the
# baseline to 100% training accuracy while validation accuracy stays several points
# lower. With all 55,000 MNIST images the same network barely overfits, and the
# regularizers have little to show.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m recipes run
# compare --variants baseline,dropout`; `--help` lists them), and so does the notebook's
# parameters cell below.

# %%
SETTINGS = {
    # the variants to train: any of these, comma-separated
    "variants": ["baseline", "l1", "l2", "l1l2", "dropout", "early_stopping", "combined"],
    # Few for 266,610 weights, so that the baseline overfits (see the introduction); the
    # rest of the split is left out.
    "train_size": 3500,  # training images used
    "learning_rate": 0.001,  # Adam's learning rate, for every variant
    "epochs": 40,  # passes over the training images (early stopping ends sooner)
    # None: by the data's size, 512 on the full 55,000 images, 128 on a few thousand.
    "batch_size": None,  # images per gradient step
    "seed": 0,  # the random seed of the first weights and of the batches' order
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] trains the seven variants for 40
# epochs each (a few minutes), which the saved outputs show; ["--quick"] is a run of
# seconds.
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
run = lesson.start("compare", globals(), datasets=IMAGE_DATASETS, default_dataset="auto",
                   types={"variants": cli.variant_list(SETTINGS["variants"]),
                          "train_size": cli.positive_int,
                          "learning_rate": cli.positive_float})
settings = run.settings

# %% [markdown]
# ## The cells to copy
# Data, model, training, evaluation and the variants the slide compares: Keras (tf.data
# feeds the training), nothing from this project. Pasted into an empty notebook they
# train and score each variant end to end: `python -m recipes show compare` prints them
# with the lines that call them. The data, training and evaluation cells are the same in every
# training recipe: they are written once, in common/lesson_cells.py, and `show` and the
# notebook print them here in full.

# %% Data (copy this cell)
from common.lesson_cells import load_mnist


# %% Model (copy this cell)
from common.lesson_cells import compile_classifier


# One builder for every variant: each keyword switches one regularizer on. Early stopping
# is a callback, not a layer, so it is built separately.
def build_model(l1=0.0, l2=0.0, dropout=0.0, input_shape=(28, 28), num_classes=10,
                hidden=(300, 100), learning_rate=1e-3):
    import keras  # in the function: the cell needs nothing above it

    if l1 and l2:
        regularizer = keras.regularizers.L1L2(l1=l1, l2=l2)
    elif l1 or l2:
        regularizer = keras.regularizers.L1(l1) if l1 else keras.regularizers.L2(l2)
    else:
        regularizer = None
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden:
        model.add(keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer))
        if dropout:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(num_classes, activation="softmax",
                                 kernel_regularizer=regularizer))
    return compile_classifier(model, learning_rate)


def early_stopping(patience=5):
    import keras

    # The unpenalized validation cross-entropy: the same for every variant.
    return keras.callbacks.EarlyStopping(monitor="val_cross_entropy", patience=patience,
                                         restore_best_weights=True)


# %% Training (copy this cell)
from common.lesson_cells import train


# %% Evaluation (copy this cell)
from common.lesson_cells import evaluate


# %% [markdown]
# ## The variants
# Each entry holds the keyword arguments of one `build_model` call under `"model"`, and
# the early-stopping settings, when it stops early, under `"early_stopping"`: any variant
# pastes as `build_model(**variant["model"])`. These are the slide's strengths, the usual
# starting points for this network size.
#
# Strength is a hyperparameter: a fixed strength can be too strong or too weak for a
# given dataset, and then the regularizer looks useless, or harmful, for the wrong
# reason. So the comparison (`python -m tools compare`) also trains each regularizer at
# every strength in its row of `GRID`, and for each seed the strength with the highest
# **validation** accuracy is kept (`l1_tuned`, ...): the test split is read only for
# that chosen model. The slide's strength is one of the candidates, and its run is
# shared with the fixed variant.

# %% Variants (copy this cell)
VARIANTS = {
    "baseline": {"model": {}},
    "l1": {"model": {"l1": 1e-4}},
    "l2": {"model": {"l2": 1e-3}},
    "l1l2": {"model": {"l1": 1e-4, "l2": 1e-3}},
    "dropout": {"model": {"dropout": 0.3}},
    "early_stopping": {"model": {}, "early_stopping": {"patience": 5}},
    "combined": {"model": {"l2": 1e-3, "dropout": 0.3}, "early_stopping": {"patience": 5}},
}


def measure(model, history):  # early stopping ends a run before its last epoch
    return {"epochs": len(history.epoch)}


# The strengths `python -m tools compare` also tries for each regularizer, one row each.
GRID = {
    "l1": {"l1": [1e-5, 1e-4, 1e-3]},
    "l2": {"l2": [1e-4, 1e-3, 1e-2]},
    "dropout": {"dropout": [0.1, 0.3, 0.5]},
    "early_stopping": {"patience": [2, 5, 10]},
}

# %% [markdown]
# ## The data
# The Data cell's split, as the run loads it (`--dataset`: full MNIST from Keras or a
# local copy, or a smaller set offline), cut to its first `train_size` training images,
# and named by its source in the results.

# %%
data = run.load_data(train_size=settings["train_size"])
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.val, data.test
splits = {"train": (x_train, y_train), "validation": (x_val, y_val), "test": (x_test, y_test)}

# %% [markdown]
# ## Every variant, one seed
# The same seed before each variant: variants with the same layers start from the same
# weights and see the same batches. `run.callbacks` adds what a run needs and a lesson
# need not show: a stop on a NaN loss, Ctrl-C, and a line every few epochs. Early
# stopping watches the unpenalized validation cross-entropy, which is also the epoch
# reported as the best.

# %%
import keras  # here: the flags chose its backend, and the data loaded first

records = {}
for name in settings["variants"]:
    variant = VARIANTS[name]
    print(f"--- {name}: {variant}")
    keras.utils.set_random_seed(settings["seed"])
    model = build_model(**variant["model"], input_shape=x_train.shape[1:],
                        num_classes=data.num_classes, learning_rate=settings["learning_rate"])
    stopping = variant.get("early_stopping")
    callbacks, initial_epoch = run.callbacks(
        model, name, extra=[early_stopping(**stopping)] if stopping else [])
    history = train(model, x_train, y_train, x_val, y_val, epochs=settings["epochs"],
                    batch_size=settings["batch_size"], seed=settings["seed"],
                    callbacks=callbacks, initial_epoch=initial_epoch, verbose=run.verbose)
    records[name] = run.record(model, history, evaluate(model, splits),
                               monitor="val_cross_entropy")
print(f"one seed ({settings['seed']}): a difference under about half a point may be chance; "
      "python -m tools compare adds paired seeds until each verdict is decided")
results = run.finish_training(records, main=settings["variants"][0])
