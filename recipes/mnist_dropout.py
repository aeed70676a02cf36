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
# What to change first: the command line's flags start from these (`--epochs`,
# `--batch-size`), and so does the notebook's parameters cell.

# %%
EPOCHS = 30
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

# %% [markdown]
# ## The cells to copy
# Data, model, training, evaluation and the variants the slide compares: Keras (tf.data
# feeds the training), nothing from this project, and what `main` below trains with.
# Pasted into an empty notebook they train and score each variant end to end: `python -m recipes show mnist_dropout` prints them with the
# lines that call them. The data, training and evaluation cells are the same in every
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


def variants(rate=0.2):
    return {"none": {"rate": 0.0}, "dropout": {"rate": rate}}


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


def demonstrate(x_train, rate=variants()["dropout"]["rate"], seed=0):
    batch = dropout_on_a_batch(x_train[:64], rate, seed)
    print(f"Dropout({rate:g}) on 64 training images: in training it zeroed "
          f"{batch['dropped_fraction']:.1%} of the inked pixels and scaled the others by "
          f"{batch['kept_scale']:.4f} (1/(1-p) = {batch['expected_scale']:.4f}); at inference "
          f"it returned its input unchanged: {batch['inference_equals_input']}")
    return batch


# %% [markdown]
# ## Train with and without dropout, from the same start
# `main` trains with the cells above: `training.fit` calls `train` (adding the callbacks
# for a NaN loss, Ctrl-C and `--resume`), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("mnist_dropout", __doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto",
                               epochs=EPOCHS, resumable=True)
    parser.add_argument("--dropout", type=cli.rate,
                        default=cli.model_defaults(variants)["rate"],
                        help="dropout rate p after each hidden layer of the dropout variant, in (0, 1)")
    cli.add_mlp_flags(parser, build_model)  # the model cell's defaults
    parser.add_argument("--cosine-decay", action="store_true",
                        help="let the learning rate fall to 0 along a cosine over the epochs "
                             "(default: constant)")
    args = parser.parse_args(argv)
    args, data = training.load_data(args)
    steps = args.epochs * -(-len(data.y_train) // args.batch_size)  # ceil: the last batch

    training.seed_everything(args.seed)
    batch = demonstrate(data.x_train, args.dropout, args.seed)

    trained = training.train_variants(
        build_model, train, evaluate, variants(args.dropout), data, args,
        input_shape=data.input_shape, num_classes=data.num_classes, hidden=args.hidden,
        learning_rate=args.learning_rate,
        decay_steps=steps if args.cosine_decay else None)
    records = {name: record for name, (_, record) in trained.items()}
    print(f"\n{'variant':<10} {'fit accuracy, last epoch':>25} {'train re-evaluated':>19} "
          f"{'validation':>11}")
    for name, record in records.items():
        record["fit_accuracy_last_epoch"] = record["history"]["accuracy"][-1]
        print(f"{name:<10} {record['fit_accuracy_last_epoch']:>25.4f} "
              f"{record['train_accuracy']:>19.4f} {record['val_accuracy']:>11.4f}")
    print("(fit's accuracy is measured with dropout on, while the weights still change; "
          "re-evaluated, the model is scored as validation is)")
    return training.finish(data, args, records, main="dropout",
                           extra={"dropout_on_a_batch": batch})


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes.mnist_dropout` with the same flags
# (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] runs the recipe as docs/teaching.md reports it
# (30 epochs), which the saved outputs show; ["--quick"] is a run of seconds (2 epochs).
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
