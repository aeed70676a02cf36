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
# What to change first: the command line's flags start from these (`--epochs`,
# `--batch-size`), and so does the notebook's parameters cell.

# %%
EPOCHS = 40
BATCH_SIZE = None  # by the data's size: 512 on the full 55,000 images, 128 on a few thousand

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
from common.datasets import IMAGE_DATASETS

# %% [markdown]
# ## The cells to copy
# Data, model, training, evaluation and the variants the slide compares: Keras (tf.data
# feeds the training), nothing from this project, and what `main` below trains with.
# Pasted into an empty notebook they train and score each variant end to end: `python -m recipes show mnist_l2` prints them with the
# lines that call them. The data, training and evaluation cells are the same in every
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
# ## Train both, from the same start
# `main` trains with the cells above: `training.fit` calls `train` (adding the callbacks
# for a NaN loss, Ctrl-C and `--resume`), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("mnist_l2", __doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto",
                               epochs=EPOCHS, resumable=True)
    defaults = cli.model_defaults(variants)  # the variants cell's strength, above
    parser.add_argument("--l2", type=cli.positive_float, default=defaults["l2"],
                        help="L2 penalty factor on every kernel of the l2 variant")
    cli.add_mlp_flags(parser, build_model)
    args = parser.parse_args(argv)
    args, data = training.load_data(args)
    trained = training.train_variants(
        build_model, train, evaluate, variants(args.l2), data, args,
        monitor="val_accuracy", input_shape=data.input_shape, num_classes=data.num_classes,
        hidden=args.hidden, learning_rate=args.learning_rate)
    records = {name: record for name, (_, record) in trained.items()}
    weights.print_table(records)
    kernel_values = {name: weights.flat_kernels(model) for name, (model, _) in trained.items()}
    draw = functools.partial(plots.weight_histograms, kernel_values,
                             title=f"Kernel weights, L2({args.l2:g}) vs none")
    return training.finish(data, args, records, main="l2",
                           figures={"weights.png": draw})


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes.mnist_l2` with the same flags (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] runs the recipe as docs/teaching.md reports it
# (40 epochs), which the saved outputs show; ["--quick"] is a run of seconds (2 epochs).
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
