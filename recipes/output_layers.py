"""
Title: Choosing the output layer: neurons, activation, loss, metric
Slide topic: Output layer for regression and for classification (the two tables)
Lecture order: 40
Dataset: iris (regression, binary) and mnist-5k (multi-label, multi-class); also auto, mnist
Run: python -m recipes.output_layers
Description: The slides' output-layer tables as code, each row trained once on real data.
Exercises: output_layer
Tests: tests/test_lecture_math.py
"""

# %% [markdown]
# The slides list, per task, how many output neurons, which activation and which loss.
# Here each row is a Keras configuration, with an explicit metric: the string
# `"accuracy"` means binary accuracy for one kind of output and categorical accuracy for
# another, so this recipe always names the metric class.
#
# | task                | output neurons    | activation          | loss                          |
# |---------------------|-------------------|---------------------|-------------------------------|
# | regression          | 1 per dimension   | none                | mean squared (or absolute) error |
# | positive regression | 1 per dimension   | ReLU or softplus    | mean squared error            |
# | bounded regression  | 1 per dimension   | sigmoid or tanh     | mean squared error            |
# | binary              | 1                 | sigmoid             | binary cross-entropy          |
# | multi-label         | 1 per label       | sigmoid             | binary cross-entropy          |
# | multi-class         | 1 per class       | softmax             | (sparse) categorical cross-entropy |
#
# The real data: Iris petal width (cm) predicted from the other three measurements for
# the regression rows, setosa-vs-rest for the binary row; MNIST digits for the
# multi-label row (three yes/no labels per image: even, >= 5, prime) and the multi-class
# row (which digit).

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.output_layers --epochs 20`; `--help` lists them), and so does the notebook's
# parameters cell below. The Iris rows train IRIS_EPOCHS epochs (2 with `--quick`).

# %%
SETTINGS = {
    "dataset": "mnist-5k",  # the digits of the multi-label and multi-class rows
    "epochs": 10,  # epochs of the digit rows
    "batch_size": 32,  # examples per gradient step
    "seed": 0,  # the random seed of the first weights and the batches
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] trains every row as the recipe does
# (tens of seconds); ["--quick"] trains each for 2 epochs.
NOTEBOOK_ARGS = []

# %% [markdown]
# ## Setup

# %%
import importlib.util
import sys
from pathlib import Path

import numpy as np

if importlib.util.find_spec("common") is None:  # not installed: python recipes/NAME.py
    sys.path.append(str(Path(__file__).resolve().parents[1]))  # the project, one folder up

from common import lesson, training
from common.datasets import load_dataset

IRIS_TASKS = ("regression", "positive regression", "bounded regression", "binary")
IRIS_EPOCHS = 100  # 96 training flowers: many short epochs
IRIS_VALIDATION_FREQ = 10  # validating every epoch would cost more than the training

run = lesson.start("output_layers", globals(), datasets=("mnist-5k", "auto", "mnist"))
settings = run.settings

# %% [markdown]
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show output_layers`.

# %% Model (copy this cell)
# One entry per row of the slides' tables: (activation, loss class, metric class), named
# explicitly, so nothing is left to the guesswork behind the string "accuracy".
OUTPUT_LAYERS = {
    "regression": (None, "MeanSquaredError", "MeanAbsoluteError"),
    "positive regression": ("softplus", "MeanSquaredError", "MeanAbsoluteError"),
    "bounded regression": ("sigmoid", "MeanSquaredError", "MeanAbsoluteError"),
    "binary": ("sigmoid", "BinaryCrossentropy", "BinaryAccuracy"),
    "multi-label": ("sigmoid", "BinaryCrossentropy", "BinaryAccuracy"),
    "multi-class": ("softmax", "SparseCategoricalCrossentropy", "SparseCategoricalAccuracy"),
}


def build_model(task, input_shape, outputs, hidden=32, learning_rate=1e-2):
    import keras  # in the function: the cell needs nothing above it

    activation, loss, metric = OUTPUT_LAYERS[task]
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Flatten(),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(outputs, activation=activation),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=getattr(keras.losses, loss)(),
                  metrics=[getattr(keras.metrics, metric)(name="metric")])
    return model


# %% [markdown]
# ## The tasks on real data
# Each task gives (x, y) for train, validation and test, and the number of outputs.
# Regression targets stay in centimetres; the bounded row rescales them to [0, 1] with
# the training split's range (the sigmoid cannot reach outside it) and back for the MAE.

# %%
DIGIT_LABELS = ("even", ">= 5", "prime")
PRIMES = np.array([2, 3, 5, 7])


def digit_attributes(digits):
    digits = np.asarray(digits)
    return np.stack([digits % 2 == 0, digits >= 5, np.isin(digits, PRIMES)],
                    axis=1).astype("float32")


def iris_regression_splits(iris):
    petal_width = iris.feature_names.index("petal width (cm)")
    keep = [i for i in range(4) if i != petal_width]
    mean, std = iris.feature_mean[petal_width], iris.feature_std[petal_width]
    return [(x[:, keep], (x[:, petal_width] * std + mean).astype("float32")[:, None])
            for x in (iris.x_train, iris.x_val, iris.x_test)]


def task_splits(task, iris, digits):
    """(train, val, test) pairs, the number of outputs, and a map back to centimetres
    for a rescaled target (None where the target is already in its own units)."""
    if task in ("regression", "positive regression"):
        return iris_regression_splits(iris), 1, None
    if task == "bounded regression":
        splits = iris_regression_splits(iris)
        low, high = float(splits[0][1].min()), float(splits[0][1].max())
        scaled = [(x, np.clip((y - low) / (high - low), 0, 1)) for x, y in splits]
        return scaled, 1, lambda v: v * (high - low) + low
    if task == "binary":
        return [(x, (y == 0).astype("float32")[:, None])
                for x, y in (iris.train, iris.val, iris.test)], 1, None
    if task == "multi-label":
        return [(x, digit_attributes(y))
                for x, y in (digits.train, digits.val, digits.test)], 3, None
    return [digits.train, digits.val, digits.test], digits.num_classes, None


def test_scores(task, model, test, to_units):
    """Test metrics in the task's own units: cm for regression, per label for multi-label."""
    x_test, y_test = test
    predicted = np.asarray(model(x_test, training=False))
    if "regression" in task:
        if to_units is not None:
            predicted, y_test = to_units(predicted), to_units(y_test)
        return {"mae_cm": float(np.mean(np.abs(predicted - y_test)))}
    if task == "multi-label":
        per_label = ((predicted > 0.5) == (y_test > 0.5)).mean(axis=0)
        return {"accuracy": float(per_label.mean()),
                **{f"accuracy {name}": float(a) for name, a in zip(DIGIT_LABELS, per_label)}}
    if task == "binary":
        return {"accuracy": float(np.mean((predicted > 0.5) == (y_test > 0.5)))}
    return {"accuracy": float(np.mean(predicted.argmax(axis=1) == y_test))}


# %% [markdown]
# ## Each row of the tables, trained once

# %%
import keras

iris = load_dataset("iris", offline=run.args.offline or None, verbose=run.args.verbose)
digits = training.load_data(run.args)[1]
keras.utils.set_random_seed(settings["seed"])
example = [0, 2, 5, 9]
print(f"multi-label targets of the digits {example} ({', '.join(DIGIT_LABELS)}): "
      f"{digit_attributes(example).astype(int).tolist()}")

rows = {}
print(f"{'task':<20} {'outputs':>7}  {'activation':<10} {'loss':<30} {'metric':<26} test")
for task, (activation, loss, metric) in OUTPUT_LAYERS.items():
    splits, outputs, to_units = task_splits(task, iris, digits)
    on_iris = task in IRIS_TASKS
    epochs = (2 if run.args.quick else IRIS_EPOCHS) if on_iris else settings["epochs"]
    model = build_model(task, splits[0][0].shape[1:], outputs)
    model.steps_per_execution = run.args.steps_per_execution  # speed only, same numbers
    model.fit(*splits[0], validation_data=splits[1], epochs=epochs,
              validation_freq=IRIS_VALIDATION_FREQ if on_iris else 1,
              batch_size=settings["batch_size"], verbose=1 if run.args.verbose else 0)
    scores = test_scores(task, model, splits[2], to_units)
    rows[task] = {"dataset": iris.source if on_iris else digits.source, "outputs": outputs,
                  "activation": activation or "none", "loss": loss, "metric": metric,
                  "epochs": epochs, **scores}
    shown = ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
    print(f"{task:<20} {outputs:>7}  {activation or 'none':<10} {loss:<30} {metric:<26} {shown}")

results = run.finish({"dataset": digits.name,
                      "data_source": {"iris": iris.source, "images": digits.source},
                      "seed": settings["seed"], "tasks": rows,
                      "multi_label_example": {"digits": example, "labels": list(DIGIT_LABELS),
                                              "targets": digit_attributes(example).tolist()}})
