"""
Title: A softmax classifier for Iris
Slide topic: Output layer for multi-class classification (softmax + cross-entropy), on the slides' Iris example
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
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show iris_softmax`.

# %% Model (copy this cell)
# Integer labels (0, 1, 2) go with the *sparse* categorical cross-entropy; one-hot labels
# would go with CategoricalCrossentropy. The metric is named, not the string "accuracy".


def build_model(input_dim=4, num_classes=3, hidden=16, learning_rate=1e-2,
                steps_per_execution=1):
    import keras  # imported here so that the recipe's --help does not load TensorFlow

    model = keras.Sequential([
        keras.Input(shape=(input_dim,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                  steps_per_execution=steps_per_execution)
    return model


# %% [markdown]
# ## Train, then evaluate once on the test split

# %%
def main(argv=None) -> dict:
    parser = cli.recipe_parser("iris_softmax", __doc__, datasets=("iris",),
                               default_dataset="iris", epochs=100, batch_size=16,
                               resumable=True)
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
                        args.learning_rate, args.steps_per_execution)
    history = training.fit(model, data, args)
    return training.finish("iris_softmax", data, args,
                           {"iris_softmax": training.evaluate_model(model, data, history)})


# %% [markdown]
# Run it from a terminal with `python -m recipes.iris_softmax` and any flags (`--help`
# lists them, with their defaults), or here: the next cell sets the flags, the one after
# runs the recipe and shows its figures.

# %% tags=["parameters"]
# The flags, as on the command line: ["--quick"] is a run of seconds (2 epochs); []
# runs the recipe as the README reports it (100 epochs).
NOTEBOOK_ARGS = ["--quick"]

# %%
if __name__ == "__main__":
    if notebook.in_kernel():  # the kernel's own command line is not the recipe's
        results = notebook.run(main, NOTEBOOK_ARGS)
    else:
        raise SystemExit(cli.console_main(main))
