"""
Title: The slide's L2 penalty in a full MNIST model
Slide topic: Keras example of l2 regularization: Dense(50, kernel_regularizer=l2(0.001))
Lecture order: 100
Baselines: fast mnist-5k; full fashion_mnist --epochs 20; online mnist
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
# ## The cells to copy
# Data, model, training and evaluation: Keras (and tf.data on TensorFlow), nothing
# from this project, and what `main` below trains with. Pasted into an empty notebook
# they train a model end to end: `python -m recipes show mnist_l2` prints them
# with the lines that call them.

# %% Data (copy this cell)
# MNIST from Keras (downloaded once, 11 MB), pixels scaled to 0-1. Validation comes out
# of the training split: 5,000 of its 60,000 images, every digit in proportion. The test
# split is read once, at the end. The recipe itself loads through `common.datasets`: the
# same arrays, a local copy when offline, and the other `--dataset` choices.


def load_data(seed=0):
    import keras
    from sklearn.model_selection import train_test_split

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=len(x_train) // 12, stratify=y_train, random_state=seed)
    x_train, x_val, x_test = (x.astype("float32") / 255 for x in (x_train, x_val, x_test))
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


# %% Model (copy this cell)
# L2(0.001) is the current name of the slide's l2(0.001). The extra metric reports the
# cross-entropy without the penalty, for a fair comparison between the two models.


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
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                 keras.metrics.SparseCategoricalCrossentropy(name="cross_entropy")],
    )
    return model


# %% Training (copy this cell)
# `fit` trains on the training split and scores the validation split after every epoch;
# callbacks (early stopping, a checkpoint, ...) hook into it, and `fit_options` passes
# any other `fit` argument through (e.g. `initial_epoch`, to go on from a saved state).
# On TensorFlow, once `keras.utils.set_random_seed` has fixed the seeds, `fit`'s own
# `shuffle=True` repeats one order in every epoch (tf.data starts its random numbers
# over each time it reads the data), and that costs accuracy; a tf.data pipeline that
# reshuffles each epoch from its own seed does not. JAX shuffles anew each epoch.
# batch_size=512 suits the full 55,000 training images; 128 suits a few thousand (the
# recipe picks by size: see its --batch-size).


def train(model, x_train, y_train, x_val, y_val, epochs=40, batch_size=512,
          callbacks=(), seed=0, **fit_options):
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        train_data = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                      .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
                      .batch(batch_size).prefetch(tf.data.AUTOTUNE))
        val_data = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(1024)
        return model.fit(train_data, validation_data=val_data, epochs=epochs,
                         shuffle=False,  # the pipeline shuffles, anew each epoch
                         callbacks=list(callbacks), **fit_options)
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                     batch_size=batch_size, shuffle=True, callbacks=list(callbacks),
                     validation_batch_size=1024,  # scoring needs no small batches
                     **fit_options)


# %% Evaluation (copy this cell)
# `evaluate` runs the model in inference mode (a Dropout layer does nothing there) and
# returns the loss and the compiled metrics of each split it is given. The test split
# goes in once, after every choice has been made on validation.


def evaluate(model, splits):
    return {name: model.evaluate(x, y, batch_size=1024, verbose=0, return_dict=True)
            for name, (x, y) in splits.items()}


# %% [markdown]
# ## Train both, from the same start
# `main` trains with the cells above: `training.fit` calls `train` (adding the callbacks
# for a NaN loss, Ctrl-C and `--resume`), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("mnist_l2", __doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto",
                               epochs=cli.model_defaults(train)["epochs"], resumable=True)
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
        build_model, train, evaluate, {"none": {"l2": 0.0}, "l2": {"l2": args.l2}}, data,
        args, monitor="val_accuracy", input_shape=data.input_shape,
        num_classes=data.num_classes, hidden=args.hidden, learning_rate=args.learning_rate)
    records = {name: record for name, (_, record) in trained.items()}
    weights.print_table(records)
    kernel_values = {name: weights.flat_kernels(model) for name, (model, _) in trained.items()}
    draw = functools.partial(plots.weight_histograms, kernel_values,
                             title=f"Kernel weights, L2({args.l2:g}) vs none")
    return training.finish("mnist_l2", data, args, records, main="l2",
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
