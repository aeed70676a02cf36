"""
Title: L1, L2 and L1L2 penalties side by side on Iris
Slide topic: l1 and l2 regularization (l1 promotes sparsity and feature selection; l2 small, distributed weights)
Lecture order: 90
Baselines: fast iris
Dataset: iris
Run: python -m recipes.iris_l1_l2 --l1 0.01 --l2 0.01
Description: The Iris classifier with no penalty, L1, L2 and L1L2 on its kernels; weights compared.
Exercises: l1_vs_l2
Tests: tests/test_regularization.py
"""

# %% [markdown]
# The slide claims that an l1 penalty "promotes sparsity, setting many weights to zero"
# and helps "feature selection", while an l2 penalty "promotes small, distributed
# weights". Both claims are about the *weights*, so this recipe trains the same network
# four times from the same initial weights, with no penalty, `L1`, `L2` and `L1L2`
# on every kernel, and measures the weights: the fraction that is (near) zero, the l1
# and l2 norms of each kernel, how much each input feature is still used, and a histogram.
#
# Two details that matter when reading the numbers: Keras' `L2(f)` adds f * sum(w^2)
# (the squared norm; see `norms_penalties`), and the training loss Keras reports
# includes the penalty, so the variants are compared on accuracy, not on loss.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.iris_l1_l2 --l1 0.001`; `--help` lists them), and so does the notebook's
# parameters cell below.

# %%
SETTINGS = {
    # Above 0: a zero would train the l1 (or l2) variant as a copy of "none".
    "l1": 0.01,  # L1 penalty factor of the l1 and l1l2 variants
    "l2": 0.01,  # L2 penalty factor of the l2 and l1l2 variants
    "hidden": 16,  # units in the hidden layer
    "learning_rate": 0.01,  # Adam's learning rate
    "epochs": 200,  # passes over the 96 training flowers
    "batch_size": 16,  # flowers per gradient step
    "seed": 0,  # the random seed of the first weights and of the batches' order
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] runs the recipe at its full
# settings (200 epochs, seconds on Iris), which the saved outputs show; ["--quick"]
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

from common import cli, lesson, plots, weights

# The one line of plumbing: the settings this run takes (the flags over SETTINGS), and
# where its results go.
run = lesson.start("iris_l1_l2", globals(), datasets=("iris",), default_dataset="iris",
                   resumable=True, types={"l1": cli.positive_float, "l2": cli.positive_float,
                                          "hidden": cli.positive_int,
                                          "learning_rate": cli.positive_float})
settings = run.settings

# %% [markdown]
# ## The cells to copy
# Data, model, training, evaluation and the variants the slide compares: Keras (tf.data
# feeds the training) and scikit-learn, nothing from this project. Pasted into an empty
# notebook they train and score each variant end to end: `python -m recipes show
# iris_l1_l2` prints them with the lines that call them. The data, training and evaluation cells are the same in every
# training recipe: they are written once, in common/lesson_cells.py, and `show` and the
# notebook print them here in full.

# %% Data (copy this cell)
from common.lesson_cells import load_iris


# %% Model (copy this cell)
from common.lesson_cells import compile_classifier

# The penalty goes on each Dense layer's kernel (its weight matrix), not on the biases.
# L1(a) adds a * sum|w|, L2(b) adds b * sum w^2, L1L2 adds both.


def make_regularizer(l1=0.0, l2=0.0):
    import keras

    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l1:
        return keras.regularizers.L1(l1)
    if l2:
        return keras.regularizers.L2(l2)
    return None


def build_model(l1=0.01, l2=0.01, input_dim=4, num_classes=3, hidden=16, learning_rate=1e-2):
    import keras  # in the function: the cell needs nothing above it

    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(hidden, activation="relu",
                           kernel_regularizer=make_regularizer(l1, l2)),
        keras.layers.Dense(num_classes, activation="softmax",
                           kernel_regularizer=make_regularizer(l1, l2)),
    ])
    return compile_classifier(model, learning_rate)


# %% Training (copy this cell)
from common.lesson_cells import train


# %% Evaluation (copy this cell)
from common.lesson_cells import evaluate


# %% Variants (copy this cell)
from common.lesson_cells import kernel_measures

# What the slide compares: build_model's arguments for each of the four, trained from
# the same start (the same seed), so that only the penalty differs; and what it claims
# about them, measured on each trained model.


def variants(l1=0.01, l2=0.01):
    return {"none": {"l1": 0.0, "l2": 0.0}, "l1": {"l1": l1, "l2": 0.0},
            "l2": {"l1": 0.0, "l2": l2}, "l1l2": {"l1": l1, "l2": l2}}


def measure(model, history):
    return kernel_measures(model)


# %% [markdown]
# ## The data
# The Data cell's split, as the run loads it: from scikit-learn (or tfds, where it is
# installed), named by its source in the results.

# %%
data = run.load_data()
(x_train, y_train), (x_val, y_val), (x_test, y_test) = data.train, data.val, data.test
splits = {"train": (x_train, y_train), "validation": (x_val, y_val), "test": (x_test, y_test)}

# %% [markdown]
# ## Train each from the same start
# The same seed before each variant gives each the same first weights and the same
# batches: only the penalty differs. `run.callbacks` adds what a run needs and a lesson
# need not show: a stop on a NaN loss, Ctrl-C that keeps every finished epoch,
# `--resume` (which starts `fit` from `initial_epoch`), and a line every few epochs.
# The penalized loss is not comparable across variants; accuracy is, so the best epoch
# is the one with the best validation accuracy.

# %%
import keras  # here: the flags chose its backend, and the data loaded first

records, models = {}, {}
for name, variant in variants(settings["l1"], settings["l2"]).items():
    print(f"--- {name}: {variant}")
    keras.utils.set_random_seed(settings["seed"])
    model = build_model(**variant, input_dim=x_train.shape[1], hidden=settings["hidden"],
                        learning_rate=settings["learning_rate"])
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
# What the slide claims: L1 sets weights to (near) zero and drops input features; L2
# keeps every weight small.

# %%
weights.print_table(records)
print("input use (l1 norm of the first kernel's row for each feature):")
for name, model in models.items():
    use = weights.input_importance(model)
    records[name]["input_feature_l1"] = dict(zip(data.feature_names, use.tolist()))
    print(f"  {name:<8} " + "  ".join(f"{feature} {value:.2f}"
                                      for feature, value in zip(data.feature_names, use)))

kernel_values = {name: weights.flat_kernels(model) for name, model in models.items()}
results = run.finish_training(records, main="l1l2", figures={
    "weights.png": lambda path: plots.weight_histograms(kernel_values, path,
                                                        title="Kernel weights on Iris")})
