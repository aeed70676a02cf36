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
# What to change first: the command line's flags start from these (`--epochs`,
# `--batch-size`), and so does the notebook's parameters cell.

# %%
EPOCHS = 40
BATCH_SIZE = None  # by the data's size: 512 on the full 55,000 images, 128 on a few thousand
TRAIN_SIZE = 3500  # training images: few for 266,610 weights, so the baseline overfits

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
# Pasted into an empty notebook they train and score each variant end to end: `python -m recipes show compare` prints them with the
# lines that call them. The data, training and evaluation cells are the same in every
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


def measure(model, history):  # early stopping ends a run before EPOCHS
    return {"epochs": len(history.epoch)}

# %% [markdown]
# ## Strength is a hyperparameter
# A fixed strength can be too strong or too weak for a given dataset, and then the
# regularizer looks useless, or harmful, for the wrong reason. So the comparison
# (`python -m tools compare`) also trains each regularizer at every strength in its row of
# `GRID`, and for each seed the strength with the highest **validation** accuracy is kept
# (`l1_tuned`, ...): the test split is read only for that chosen model. The slide's
# strength is one of the candidates, and its run is shared with the fixed variant above.

# %%
GRID = {
    "l1": {"l1": [1e-5, 1e-4, 1e-3]},
    "l2": {"l2": [1e-4, 1e-3, 1e-2]},
    "dropout": {"dropout": [0.1, 0.3, 0.5]},
    "early_stopping": {"patience": [2, 5, 10]},
}

# %% [markdown]
# ## Every variant, one seed
# `main` trains each variant with the cells above, from the same seed, so variants with
# the same layers start from the same weights: `training.fit` calls `train` (adding the
# callbacks for a NaN loss and Ctrl-C), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("compare", __doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto", epochs=EPOCHS)
    parser.add_argument("--variants", type=cli.variant_list(VARIANTS),
                        default=list(VARIANTS),
                        help=f"comma-separated subset of: {','.join(VARIANTS)} "
                             "(default: all)")
    parser.add_argument("--train-size", type=cli.positive_int, default=TRAIN_SIZE,
                        help="training examples used (the rest of the split is left out "
                             "so the baseline overfits; see the introduction)")
    parser.add_argument("--learning-rate", type=cli.positive_float,
                        default=cli.model_defaults(build_model)["learning_rate"],
                        help="Adam learning rate, for every variant")
    args = parser.parse_args(argv)
    args, data = training.load_data(args, train_size=args.train_size)

    records, models = {}, {}  # the models kept: finish saves each beside results.json
    for name in args.variants:
        variant = VARIANTS[name]
        print(f"--- {name}: {variant}")
        training.seed_everything(args.seed)
        model = build_model(**variant["model"], input_shape=data.input_shape,
                            num_classes=data.num_classes, learning_rate=args.learning_rate)
        stopping = variant.get("early_stopping")
        callbacks = [early_stopping(**stopping)] if stopping else []
        history = training.fit(train, model, data, args, callbacks, name=name)
        models[name] = model
        records[name] = training.evaluate_model(evaluate, model, data, history,
                                                monitor="val_cross_entropy")
    print(f"one seed ({args.seed}): a difference under about half a point may be chance; "
          "python -m tools compare adds paired seeds until each verdict is decided")
    return training.finish(data, args, records, main=args.variants[0])


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes run compare` with the same flags (`--help` lists
# them); the comparison over paired seeds, with its report: `python -m tools compare`.

# %% tags=["parameters"]
# The flags, as on the command line: [] trains the seven variants for 40 epochs each (a
# few minutes), which the saved outputs show; ["--quick"] is a run of seconds.
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
