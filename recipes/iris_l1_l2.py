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
# What to change first: the command line's flags start from these (`--epochs`,
# `--batch-size`), and so does the notebook's parameters cell.

# %%
EPOCHS = 200
BATCH_SIZE = 16

# %% [markdown]
# ## Setup

# %%
import functools
import importlib.util
import sys
from pathlib import Path

# Not installed with pip? Then the project's packages are one folder up, from this file
# (recipes/) and from its notebook, which runs in notebooks/.
if importlib.util.find_spec("common") is None:
    here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
    sys.path.append(str(here.resolve().parent))

from common import cli, notebook, plots, training, weights

# %% [markdown]
# ## The cells to copy
# Data, model, training, evaluation and the variants the slide compares: Keras (tf.data
# feeds the training), nothing from this project, and what `main` below trains with.
# Pasted into an empty notebook they train and score each variant end to end: `python -m recipes show iris_l1_l2` prints them with the
# lines that call them. The data, training and evaluation cells are the same in every
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
# ## Train each from the same start, then compare the weights
# `main` trains with the cells above: `training.fit` calls `train` (adding the callbacks
# for a NaN loss, Ctrl-C and `--resume`), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("iris_l1_l2", __doc__, datasets=("iris",),
                               default_dataset="iris", resumable=True,
                               epochs=EPOCHS,
                               batch_size=BATCH_SIZE)
    defaults = cli.model_defaults(variants)  # the variants cell's strengths, above
    # Above 0: a zero would train the l1 (or l2) variant as a copy of "none".
    parser.add_argument("--l1", type=cli.positive_float, default=defaults["l1"],
                        help="L1 penalty factor of the l1 and l1l2 variants")
    parser.add_argument("--l2", type=cli.positive_float, default=defaults["l2"],
                        help="L2 penalty factor of the l2 and l1l2 variants")
    cli.add_mlp_flags(parser, build_model)
    args = parser.parse_args(argv)
    args, data = training.load_data(args)

    # The penalized loss is not comparable across variants; accuracy is.
    trained = training.train_variants(
        build_model, train, evaluate, variants(args.l1, args.l2), data, args,
        monitor="val_accuracy", input_dim=data.input_shape[0], hidden=args.hidden,
        learning_rate=args.learning_rate)
    records = {name: record for name, (_, record) in trained.items()}
    importance = {name: weights.input_importance(model) for name, (model, _) in trained.items()}
    for name, record in records.items():
        record["input_feature_l1"] = dict(zip(data.feature_names, importance[name].tolist()))
    kernel_values = {name: weights.flat_kernels(model) for name, (model, _) in trained.items()}

    weights.print_table(records)
    print("input use (l1 norm of the first kernel's row for each feature):")
    for name, use in importance.items():
        print(f"  {name:<8} " + "  ".join(f"{feature} {value:.2f}"
                                          for feature, value in zip(data.feature_names, use)))

    draw = functools.partial(plots.weight_histograms, kernel_values,
                             title="Kernel weights on Iris")
    return training.finish(data, args, records, main="l1l2",
                           figures={"weights.png": draw})


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes.iris_l1_l2` with the same flags (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] runs the recipe at its full settings (200
# epochs, seconds on Iris), which the saved outputs show; ["--quick"] trains 2 epochs.
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
