"""
Title: A softmax classifier for Iris
Slide topic: Output layer for multi-class classification (softmax + cross-entropy), on the slides' Iris example
Lecture order: 70
Baselines: fast iris
Dataset: iris
Run: python -m recipes.iris_softmax
Description: A small MLP with a 3-way softmax on Iris: the baseline for the Iris recipes.
"""

# %% [markdown]
# The cross-entropy slide's example is Iris: three classes, one softmax output per class,
# and cross-entropy as the loss. This is that classifier on the real 150 flowers: four
# standardized measurements in, one hidden ReLU layer, a softmax over the three species.
# 96 flowers train it, 24 validate it after every epoch, and 30 test it once at the end.

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

# %% [markdown]
# ## The cells to copy
# Data, model, training and evaluation: Keras (and tf.data on TensorFlow), nothing
# from this project, and what `main` below trains with. Pasted into an empty notebook
# they train a model end to end: `python -m recipes show iris_softmax` prints them
# with the lines that call them.

# %% Data (copy this cell)
# Iris from scikit-learn: 150 flowers, 4 measurements each. 30 go to the test split and
# 24 of the rest to validation, every species in proportion. The features are
# standardized with the training split's mean and standard deviation only, so nothing
# about validation or test leaks into training. The recipe itself loads through
# `common.datasets`: the same arrays (from tfds instead, where it is installed).


def load_data(seed=0):
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    x = x.astype("float32")
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=30, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=24, stratify=y_rest, random_state=seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_val, x_test = ((x - mean) / std for x in (x_train, x_val, x_test))
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


# %% Model (copy this cell)
# Integer labels (0, 1, 2) go with the *sparse* categorical cross-entropy; one-hot labels
# would go with CategoricalCrossentropy. The metric is named, not the string "accuracy".


def build_model(input_dim=4, num_classes=3, hidden=16, learning_rate=1e-2):
    import keras  # in the function: the cell needs nothing above it

    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return model


# %% Training (copy this cell)
# `fit` trains on the training split and scores the validation split after every epoch;
# callbacks (early stopping, a checkpoint, ...) hook into it, and `fit_options` passes
# any other `fit` argument through (e.g. `initial_epoch`, to go on from a saved state).
# On TensorFlow, once `keras.utils.set_random_seed` has fixed the seeds, `fit`'s own
# `shuffle=True` repeats one order in every epoch (tf.data starts its random numbers
# over each time it reads the data), and that costs accuracy; a tf.data pipeline that
# reshuffles each epoch from its own seed does not. JAX shuffles anew each epoch.


def train(model, x_train, y_train, x_val, y_val, epochs=100, batch_size=16,
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
# ## Train, then evaluate once on the test split
# `main` trains with the cells above: `training.fit` calls `train` (adding the callbacks
# for a NaN loss, Ctrl-C and `--resume`), `training.evaluate_model` calls `evaluate`.

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("iris_softmax", __doc__, datasets=("iris",),
                               default_dataset="iris", resumable=True,
                               epochs=cli.model_defaults(train)["epochs"],
                               batch_size=cli.model_defaults(train)["batch_size"])
    defaults = cli.model_defaults(build_model)  # the model cell's, above
    parser.add_argument("--hidden", type=cli.positive_int, default=defaults["hidden"],
                        help="units in the hidden layer")
    parser.add_argument("--learning-rate", type=cli.positive_float,
                        default=defaults["learning_rate"],
                        help="Adam learning rate")
    args = parser.parse_args(argv)
    data = training.load_data(args)
    training.seed_everything(args.seed)
    model = build_model(data.input_shape[0], data.num_classes, args.hidden,
                        args.learning_rate)
    history = training.fit(train, model, data, args)
    record = training.evaluate_model(evaluate, model, data, history)
    return training.finish("iris_softmax", data, args, {"iris_softmax": record})


# %% [markdown]
# ## Run it
# Here: the next cell sets the flags, the one after runs the recipe and shows its figures.
# From a terminal: `python -m recipes.iris_softmax` with the same flags
# (`--help` lists them).

# %% tags=["parameters"]
# The flags, as on the command line: [] runs the recipe at its full settings (100
# epochs, seconds on Iris), which the saved outputs show; ["--quick"] trains 2 epochs.
NOTEBOOK_ARGS = []

# %%
if __name__ == "__main__":  # in a notebook with NOTEBOOK_ARGS, in a terminal with its flags
    results = notebook.run_recipe(main, NOTEBOOK_ARGS)
