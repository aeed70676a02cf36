"""
Title: Early stopping, with the best weights restored
Slide topic: Early stopping (halt training once validation performance starts to degrade)
Lecture order: 130
Baselines: fast mnist-5k; full fashion_mnist; online mnist
Dataset: auto (full MNIST, else mnist-5k offline); also mnist, fashion_mnist, mnist-5k
Run: python -m recipes.mnist_early_stopping --patience 5
Description: The slides' MLP trained for up to 100 epochs; EarlyStopping halts it and restores the best epoch.
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
# ## Setup

# %%
import importlib.util
import sys
from pathlib import Path

# Not installed with pip? Then the project's packages are one folder up, from this file
# (recipes/) and from its notebook, which runs in notebooks/.
if importlib.util.find_spec("common") is None:
    here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
    sys.path.append(str(here.resolve().parent))

from common import cli, notebook, training
from common.datasets import IMAGE_DATASETS

MONITORS = ("auto", "val_loss", "val_cross_entropy", "val_accuracy")

# %% [markdown]
# ## The cells to copy
# Data, model, training and evaluation: Keras (and tf.data on TensorFlow), nothing
# from this project, and what `main` below trains with. Pasted into an empty notebook
# they train a model end to end: `python -m recipes show mnist_early_stopping` prints them
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
# The model tracks cross-entropy as a metric too: equal to the loss without a penalty,
# the unpenalized fit with one.


def build_model(l2=0.0, input_shape=(28, 28), num_classes=10, hidden=(300, 100),
                learning_rate=1e-3):
    import keras  # in the function: the cell needs nothing above it

    regularizer = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential([keras.Input(shape=input_shape), keras.layers.Flatten()])
    for units in hidden:
        model.add(keras.layers.Dense(units, activation="relu", kernel_regularizer=regularizer))
    model.add(keras.layers.Dense(num_classes, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                 keras.metrics.SparseCategoricalCrossentropy(name="cross_entropy")],
    )
    return model


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
# `fit` trains on the training split and scores the validation split after every epoch;
# callbacks (early stopping, a checkpoint, ...) hook into it, and `fit_options` passes
# any other `fit` argument through (e.g. `initial_epoch`, to go on from a saved state).
# On TensorFlow, once `keras.utils.set_random_seed` has fixed the seeds, `fit`'s own
# `shuffle=True` repeats one order in every epoch (tf.data starts its random numbers
# over each time it reads the data), and that costs accuracy; a tf.data pipeline that
# reshuffles each epoch from its own seed does not. JAX shuffles anew each epoch.
# batch_size=512 suits the full 55,000 training images; 128 suits a few thousand (the
# recipe picks by size: see its --batch-size).


def train(model, x_train, y_train, x_val, y_val, epochs=100, batch_size=512,
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
# ## Choosing what to monitor

# %%
def choose_monitor(requested, l2):
    if requested == "auto":
        return "val_cross_entropy" if l2 else "val_loss"
    if requested == "val_loss" and l2:
        print("note: with --l2 the validation loss includes the penalty; "
              "--monitor val_cross_entropy watches the fit alone")
    return requested


# %% [markdown]
# ## Train until validation stops improving
# `main` trains with the cells above: `training.fit` calls `train` (adding the callbacks
# for a NaN loss, Ctrl-C and `--resume`), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("mnist_early_stopping", __doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto",
                               epochs=cli.model_defaults(train)["epochs"], resumable=True)
    parser.add_argument("--monitor", choices=MONITORS, default="auto",
                        help="validation metric to watch; auto: val_loss, or "
                             "val_cross_entropy when there is a penalty")
    parser.add_argument("--patience", type=cli.non_negative_int, default=5,
                        help="epochs without improvement before stopping")
    parser.add_argument("--min-delta", type=cli.non_negative_float, default=0.0,
                        help="smallest change that counts as an improvement")
    parser.add_argument("--l2", type=cli.non_negative_float,
                        default=cli.model_defaults(build_model)["l2"],
                        help="optional L2 penalty on the hidden kernels")
    cli.add_mlp_flags(parser, build_model)  # the model cell's defaults
    args = parser.parse_args(argv)
    monitor = choose_monitor(args.monitor, args.l2)
    if args.monitor == "auto" and args.l2:
        print(f"monitoring {monitor}: the penalty is part of val_loss, not of the fit")
    data = training.load_data(args)

    training.seed_everything(args.seed)
    model = build_model(args.l2, data.input_shape, data.num_classes, args.hidden,
                        args.learning_rate)
    stopper = early_stopping(monitor, args.patience, args.min_delta)
    history = training.fit(train, model, data, args, callbacks=[stopper])
    record = training.evaluate_model(evaluate, model, data, history, monitor=monitor)
    record["best_epoch"] = stopper.best_epoch + 1  # the callback's own (min_delta applies)

    best_value = history.history[monitor][stopper.best_epoch]
    restored = evaluate(model, {"validation": data.val})["validation"]
    restored_value = restored[monitor.removeprefix("val_")]
    stopped = stopper.stopped_epoch + 1 if stopper.stopped_epoch else None
    early = {"monitor": monitor, "patience": args.patience, "min_delta": args.min_delta,
             "stopped_epoch": stopped, "best_epoch": stopper.best_epoch + 1,
             "best_value": best_value, "restored_value": restored_value}
    print(f"stopped after epoch {stopped} of at most {args.epochs}" if stopped else
          f"never stopped early: ran all {args.epochs} epochs")
    print(f"best epoch {early['best_epoch']}: {monitor} = {best_value:.6f}; the returned "
          f"model gives {restored_value:.6f} (the best epoch's weights were restored)")
    return training.finish("mnist_early_stopping", data, args,
                           {"early_stopping": record}, extra={"early_stopping": early},
                           marks={"early_stopping": early["best_epoch"]})


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes.mnist_early_stopping` with the same flags
# (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] runs the recipe as docs/teaching.md reports it
# (up to 100 epochs), which the saved outputs show; ["--quick"] is a run of seconds (2 epochs).
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
