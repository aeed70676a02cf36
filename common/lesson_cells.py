"""The cells that several lessons share, written once.

Each cell below is one a student copies: Keras, tf.data and scikit-learn, nothing from
this project. A recipe takes them with one line in its own cell
(``from common.lesson_cells import train``); ``python -m recipes show`` and the notebook
build print the cell's text in place of that line (as d2l's ``#@save`` does), so that what
a student reads and pastes is the code itself, and a fix here reaches every lesson.
"""

# %% Iris data (copy this cell)
# Iris from scikit-learn: 150 flowers, 4 measurements each. 30 go to the test split and
# 24 of the rest to validation, every species in proportion. The features are
# standardized with the training split's mean and standard deviation only, so nothing
# about validation or test leaks into training. The recipe itself loads through
# `common.datasets`: the same arrays (from tfds instead, where it is installed).


def load_iris(seed=0):
    from sklearn.datasets import load_iris as iris_from_sklearn
    from sklearn.model_selection import train_test_split

    x, y = iris_from_sklearn(return_X_y=True)
    x = x.astype("float32")
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=30, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=24, stratify=y_rest, random_state=seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_val, x_test = ((x - mean) / std for x in (x_train, x_val, x_test))
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


# %% MNIST data (copy this cell)
# MNIST from Keras (downloaded once, 11 MB), pixels scaled to 0-1. Validation comes out
# of the training split: 5,000 of its 60,000 images, every digit in proportion. The test
# split is read once, at the end. The recipe itself loads through `common.datasets`: the
# same arrays, a local copy when offline, and the other `--dataset` choices.


def load_mnist(seed=0):
    import keras
    from sklearn.model_selection import train_test_split

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    x_train, x_val, y_train, y_val = train_test_split(
        x_train, y_train, test_size=len(x_train) // 12, stratify=y_train, random_state=seed)
    x_train, x_val, x_test = (x.astype("float32") / 255 for x in (x_train, x_val, x_test))
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


# %% Compiling a classifier (copy this cell)
# The output layer is a softmax over the classes, so the loss is the cross-entropy of its
# probabilities; with integer class labels (0, 1, 2, ...) the matching cross-entropy is
# the *sparse* one, with no need to one-hot the labels. Cross-entropy is also tracked as a metric: it
# equals the loss without a penalty, and with an L1 or L2 penalty it is the unpenalized
# part, which compares fairly across models. `learning_rate` may be a schedule.


def compile_classifier(model, learning_rate=1e-3):
    import keras

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
# The training examples go in as a tf.data pipeline that reshuffles every epoch from the
# run's seed; `fit` takes it on either backend (TensorFlow is installed with the project
# for its data tools, whichever backend trains). Why not `fit(x_train, y_train,
# shuffle=True)`? On TensorFlow, once `keras.utils.set_random_seed` has fixed the seeds,
# `fit`'s own shuffling repeats one order in every epoch (tf.data starts its random
# numbers over each time it reads the data), and that costs accuracy.


def train(model, x_train, y_train, x_val, y_val, epochs, batch_size, callbacks=(),
          seed=0, **fit_options):
    import tensorflow as tf

    train_data = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
                  .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
                  .batch(batch_size).prefetch(tf.data.AUTOTUNE))
    val_data = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(1024)
    return model.fit(train_data, validation_data=val_data, epochs=epochs,
                     shuffle=False,  # the pipeline shuffles; fit would only warn
                     callbacks=list(callbacks), **fit_options)


# %% Evaluation (copy this cell)
# `evaluate` runs the model in inference mode (a Dropout layer does nothing there) and
# returns the loss and the compiled metrics of each split it is given. The test split
# goes in once, after every choice has been made on validation.


def evaluate(model, splits):
    return {name: model.evaluate(x, y, batch_size=1024, verbose=0, return_dict=True)
            for name, (x, y) in splits.items()}


# %% Kernel weights (copy this cell)
# What the L1/L2 slide claims is about the weights, so that is what to measure: the share
# of kernel weights that are (almost) 0 (L1 "promotes sparsity"), their mean and their
# largest size (L2 keeps them "small"). Biases carry no penalty and are left out.


def kernel_measures(model, near_zero=1e-3):
    import keras
    import numpy as np

    w = np.abs(np.concatenate([keras.ops.convert_to_numpy(layer.kernel).ravel()
                               for layer in model.layers if hasattr(layer, "kernel")]))
    return {"near_zero": np.mean(w < near_zero), "mean_abs_w": w.mean(), "max_abs_w": w.max()}


# %% Where TensorFlow is not installed
# Not a cell to copy. A JAX machine may have no TensorFlow, and then the Training cell's
# tf.data pipeline cannot be made: a lesson's `train` is then `fit` on the arrays, which
# JAX reshuffles every epoch itself (the pitfall above is TensorFlow's alone).
import importlib.util  # noqa: E402  (after the cells, which import what they need)

if importlib.util.find_spec("tensorflow") is None:
    from common.training import fit_without_tf_data as train  # noqa: F811
