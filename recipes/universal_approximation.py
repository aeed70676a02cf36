"""
Title: One hidden layer, growing width: approximating sin(x)
Slide topic: "A sufficiently large single-layer network can approximate any continuous function"
Lecture order: 20
Dataset: none (sin on [-pi, pi], generated)
Run: python -m recipes.universal_approximation --widths 1,2,4,8,16,64
Description: Fit sin(x) with one hidden layer of growing width; the error falls with width.
Exercises: network_width
Tests: tests/test_lecture_math.py
"""

# %% [markdown]
# The universal approximation theorem says that one hidden layer with enough units (and a
# non-polynomial activation such as tanh or ReLU) can approximate any continuous function
# on a bounded interval as closely as we like. It says nothing about how to *find* those
# weights, or how many units are enough: this recipe measures it for one function. Each
# width is trained on 256 random points of sin(x) on [-pi, pi] and scored on a grid of
# 1,000 points it never saw.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.universal_approximation --widths 1,4,64 --epochs 400`; `--help` lists them), and
# so does the notebook's parameters cell below.

# %%
SETTINGS = {
    "widths": [1, 2, 4, 8, 16, 64],  # hidden layer widths to try, comma-separated
    "epochs": 1000,  # passes over the 256 training points, per width
    "batch_size": 32,  # points per gradient step
    "seed": 0,  # the random seed of the training points and the first weights
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] trains 1,000 epochs per width (half
# a minute), which the saved outputs show; ["--quick"] trains 100 (seconds), a looser fit.
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

from common import lesson, plots

TRAIN_POINTS = 256
GRID_POINTS = 1000
PASSES_PER_FIT_EPOCH = 25

# --quick: 100 epochs, since 2 fit no curve at all
run = lesson.start("universal_approximation", globals(), quick_epochs=100)
settings = run.settings

# %% [markdown]
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show universal_approximation`.

# %% Model (copy this cell)
# One hidden layer of `width` tanh units and one linear output: the network of the theorem.
# The learning rate decays to zero over the run (cosine schedule), so the last steps
# polish the fit instead of bouncing around it.


def build_model(width, total_steps=10_000, learning_rate=1e-2):
    import keras  # in the function: the cell needs nothing above it

    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps)

    model = keras.Sequential([
        keras.Input(shape=(1,)),
        keras.layers.Dense(width, activation="tanh"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.MeanSquaredError())
    return model


# %% [markdown]
# ## Data: sin(x) on [-pi, pi]

# %%
def sine_data(seed):
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-np.pi, np.pi, size=(TRAIN_POINTS, 1)).astype("float32")
    x_grid = np.linspace(-np.pi, np.pi, GRID_POINTS, dtype="float32")[:, None]
    return (x_train, np.sin(x_train)), (x_grid, np.sin(x_grid))


# %% [markdown]
# ## Plot: the fits, and the error against width

# %%
def plot_fits(fits, grid, path):
    plt = plots.pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(grid[0], grid[1], color="black", linewidth=3, alpha=0.3, label="sin(x)")
    for width, fit in fits.items():
        left.plot(grid[0], fit["prediction"], label=f"width {width}")
    left.set_xlabel("x")
    left.legend(fontsize="small")
    widths = list(fits)
    right.loglog(widths, [fits[w]["grid_mse"] for w in widths], marker="o")
    right.set_xlabel("hidden units")
    right.set_ylabel("mean squared error on the grid")
    right.grid(alpha=0.3, which="both")
    plots.save(fig, path)


# %% [markdown]
# ## Each width, trained and scored on the grid

# %%
import keras

train, grid = sine_data(settings["seed"])
keras.utils.set_random_seed(settings["seed"])

fits = {}
print(f"{'width':>6} {'parameters':>11} {'grid MSE':>10} {'max |error|':>12}")
for width in settings["widths"]:
    steps = settings["epochs"] * -(-TRAIN_POINTS // settings["batch_size"])
    model = build_model(width, steps)
    model.steps_per_execution = run.args.steps_per_execution  # speed only, same numbers
    # Keras spends ~50 ms per epoch outside the maths, more than 8 batches of 32 points
    # cost, so each fit epoch makes PASSES_PER_FIT_EPOCH passes over the data (and one
    # more fit makes the passes left over: --epochs 110 trains 110 passes).
    fit_epochs, left_over = divmod(settings["epochs"], PASSES_PER_FIT_EPOCH)
    for passes, epochs in ((PASSES_PER_FIT_EPOCH, fit_epochs), (left_over, 1)):
        if passes and epochs:
            model.fit(*(np.tile(a, (passes, 1)) for a in train), epochs=epochs,
                      batch_size=settings["batch_size"], verbose=1 if run.args.verbose else 0)
    prediction = np.asarray(model(grid[0], training=False))
    error = prediction - grid[1]
    fits[width] = {"params": model.count_params(),
                   "steps": int(model.optimizer.iterations.numpy()),
                   "grid_mse": float(np.mean(error ** 2)),
                   "max_abs_error": float(np.abs(error).max()),
                   "prediction": prediction.ravel()}
    print(f"{width:>6} {fits[width]['params']:>11} {fits[width]['grid_mse']:>10.2e} "
          f"{fits[width]['max_abs_error']:>12.4f}")

results = run.finish(
    {"function": "sin(x) on [-pi, pi]", "train_points": TRAIN_POINTS,
     "grid_points": GRID_POINTS, "seed": settings["seed"],
     "widths": {str(w): {k: v for k, v in fit.items() if k != "prediction"}
                for w, fit in fits.items()}},
    figures={"fits.png": lambda path: plot_fits(fits, grid, path)})
