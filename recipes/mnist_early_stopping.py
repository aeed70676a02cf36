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
# What to change first: the command line's flags start from these (`--epochs`,
# `--batch-size`), and so does the notebook's parameters cell.

# %%
EPOCHS = 100  # the most; early stopping ends sooner
BATCH_SIZE = None  # by the data's size: 512 on the full 55,000 images, 128 on a few thousand

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
# Data, model, training and evaluation: Keras (tf.data feeds the training), nothing
# from this project, and what `main` below trains with. Pasted into an empty notebook
# they train a model end to end: `python -m recipes show mnist_early_stopping` prints them with the
# lines that call them. The data, training and evaluation cells are the same in every
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
                               epochs=EPOCHS, resumable=True)
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
    args, data = training.load_data(args)

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
    return training.finish(data, args, {"early_stopping": record},
                           extra={"early_stopping": early},
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
