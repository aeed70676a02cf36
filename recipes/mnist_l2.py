"""
Title: The slide's L2 penalty in a full MNIST model
Slide topic: Keras example of l2 regularization: Dense(50, kernel_regularizer=l2(0.001))
Dataset: auto (full MNIST, else mnist-5k offline); also mnist, fashion_mnist, mnist-5k
Run: python -m recipes.mnist_l2 --l2 0.001
Description: Dense(50) with L2(0.001) on its kernel, against the same model without the penalty.
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
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show mnist_l2`.

# %% Model (copy this cell)
# L2(0.001) is the current name of the slide's l2(0.001). The extra metric reports the
# cross-entropy without the penalty, for a fair comparison between the two models.


def build_model(l2=0.001, input_shape=(28, 28), num_classes=10, hidden=50,
                learning_rate=1e-3, steps_per_execution=1):
    import keras  # imported here so that the recipe's --help does not load TensorFlow

    regularizer = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Flatten(),
        keras.layers.Dense(hidden, activation="relu", kernel_regularizer=regularizer),
        keras.layers.Dense(num_classes, activation="softmax", kernel_regularizer=regularizer),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                 keras.metrics.SparseCategoricalCrossentropy(name="cross_entropy")],
        steps_per_execution=steps_per_execution,
    )
    return model


# %% [markdown]
# ## Train both, from the same start

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("mnist_l2", __doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto", epochs=40, resumable=True)
    defaults = cli.model_defaults(build_model)  # the model cell's, above
    parser.add_argument("--l2", type=cli.non_negative_float, default=defaults["l2"],
                        help="L2 penalty factor on every kernel")
    parser.add_argument("--hidden", type=cli.positive_int, default=defaults["hidden"],
                        help="units in the hidden layer")
    parser.add_argument("--learning-rate", type=cli.positive_float,
                        default=defaults["learning_rate"],
                        help="Adam learning rate")
    args = parser.parse_args(argv)
    data = training.load_data(args)
    trained = training.train_variants(
        build_model, {"none": {"l2": 0.0}, "l2": {"l2": args.l2}}, data, args,
        monitor="val_accuracy", input_shape=data.input_shape, num_classes=data.num_classes,
        hidden=args.hidden, learning_rate=args.learning_rate,
        steps_per_execution=args.steps_per_execution)
    records = {name: record for name, (_, record) in trained.items()}
    weights.print_table(records)
    kernel_values = {name: weights.flat_kernels(model) for name, (model, _) in trained.items()}
    draw = functools.partial(plots.weight_histograms, kernel_values,
                             title=f"Kernel weights, L2({args.l2:g}) vs none")
    return training.finish("mnist_l2", data, args, records, main="l2",
                           figures={"weights.png": draw})


# %% [markdown]
# Run it from a terminal with `python -m recipes.mnist_l2` and any flags (`--help` lists
# them, with their defaults), or here: the next cell sets the flags, the one after runs
# the recipe and shows its figures.

# %% tags=["parameters"]
# The flags, as on the command line: ["--quick"] is a run of seconds (2 epochs); []
# runs the recipe as the README reports it (40 epochs).
NOTEBOOK_ARGS = ["--quick"]

# %%
if __name__ == "__main__":
    if notebook.in_kernel():  # the kernel's own command line is not the recipe's
        results = notebook.run(main, NOTEBOOK_ARGS)
    else:
        raise SystemExit(cli.console_main(main))
