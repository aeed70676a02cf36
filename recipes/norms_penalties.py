"""
Title: Norms and penalty terms, and what Keras' L1/L2 really add
Slide topic: Penalty terms; lp norms; l1 and l2 regularization (MAE + alpha*l1 + beta*l2)
Lecture order: 80
Dataset: none (example numbers, or your own with --vector, --alpha, --beta)
Run: python -m recipes.norms_penalties --vector "3,-4,0,1" --alpha 0.01 --beta 0.001
Description: lp norms, MAE, the slide's penalized loss by hand, and the Keras equivalent.
Exercises: lp_norm, keras_penalty
Tests: tests/test_lecture_math.py
"""

# %% [markdown]
# The slide writes the penalized loss as  MAE + alpha * l1 + beta * l2  with the norms
#
#     ||w||_1 = sum |w_i|        ||w||_2 = sqrt(sum w_i^2)
#
# Keras' regularizers differ from that formula in one place: `keras.regularizers.L2(beta)`
# adds beta * sum w_i^2, the *squared* l2 norm, not beta * ||w||_2. (The squared norm has
# the gradient 2*beta*w, "weight decay", which is why it is the standard choice.) `L1`
# adds alpha * sum |w_i| = alpha * ||w||_1, as on the slide. Three more facts the slide
# leaves out:
#
# - a regularizer applies to the weights it is attached to (`kernel_regularizer`); biases
#   are not penalized unless you also pass `bias_regularizer`;
# - the loss Keras reports during training *and* evaluation includes the penalties, so a
#   regularized model's loss is not comparable with an unregularized model's;
# - the penalty is added once per batch, independent of the batch size.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m
# recipes.norms_penalties --vector 1,-2,3 --alpha 0.1`; `--help` lists them), and so does
# the notebook's parameters cell below.

# %%
SETTINGS = {
    "vector": [3.0, -4.0, 0.0, 1.0],  # a vector whose norms to compute, comma-separated
    "alpha": 0.01,  # the l1 penalty factor alpha, from 0 to 1e6
    "beta": 0.001,  # the l2 penalty factor beta, from 0 to 1e6
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] for the example numbers, or your
# own, e.g. ["--vector", "1,-2,3", "--alpha", "0.1", "--beta", "0.01"].
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

from common import cli, lesson
from common.errors import UsageError

run = lesson.start("norms_penalties", globals(),
                   types={"alpha": cli.non_negative_float, "beta": cli.non_negative_float})
vector, alpha, beta = run.settings["vector"], run.settings["alpha"], run.settings["beta"]
for name, factor in (("alpha", alpha), ("beta", beta)):
    if factor > 1e6:  # Keras computes the penalty in float32, which ends near 3.4e38
        raise UsageError(f"--{name}: at most 1e6, got {factor:g} (a factor that large only "
                         "drowns the loss; the slide's are 0.01 and 0.001)")

# %% [markdown]
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show norms_penalties`.

# %% Model (copy this cell)
# A one-layer model with both penalties on its kernel: loss = MAE + alpha*sum|w| + beta*sum w^2.
import numpy as np


def penalized_model(kernel, bias, alpha=0.01, beta=0.001):
    import keras

    kernel = np.asarray(kernel, dtype="float32")
    model = keras.Sequential([
        keras.Input(shape=(kernel.shape[0],)),
        keras.layers.Dense(kernel.shape[1],
                           kernel_regularizer=keras.regularizers.L1L2(l1=alpha, l2=beta)),
    ])
    model.layers[0].set_weights([kernel, np.asarray(bias, dtype="float32")])
    model.compile(optimizer="sgd", loss=keras.losses.MeanAbsoluteError())
    return model


# %% [markdown]
# ## The pieces by hand

# %%
def lp_norm(z, p):
    z = np.abs(np.asarray(z, dtype=np.float64))
    return float(z.max()) if p == np.inf else float((z ** p).sum() ** (1.0 / p))


def mae(predictions, targets):
    return float(np.mean(np.abs(np.asarray(predictions) - np.asarray(targets))))


# A small regression problem with fixed weights, so every number can be checked by hand.
X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [-1.0, 1.5]])
Y = np.array([[1.0], [0.0], [2.0], [-0.5]])
KERNEL = np.array([[0.5], [-2.0]])
BIAS = np.array([0.3])


# %% [markdown]
# ## The norms of a vector

# %%
norms = {str(p): lp_norm(vector, p) for p in (1, 2, 3)}
norms["inf"] = lp_norm(vector, np.inf)
print(f"z = {vector}")
for p, value in norms.items():
    check = np.linalg.norm(vector, ord=np.inf if p == "inf" else int(p))
    print(f"  l{p:<3} norm = {value:.6g}   (numpy.linalg.norm: {check:.6g})")

# %% [markdown]
# ## The slide's penalized loss, and Keras'
# On a small regression problem with a fixed kernel w = [0.5, -2] (not `--vector`), so
# that every number can be checked by hand.

# %%
data_loss = mae(X @ KERNEL + BIAS, Y)
w = KERNEL.ravel()
l1, l2, l2_squared = lp_norm(w, 1), lp_norm(w, 2), float(np.sum(w ** 2))
slide_total = data_loss + alpha * l1 + beta * l2
keras_total = data_loss + alpha * l1 + beta * l2_squared
print(f"\nKernel w = {w.tolist()}, bias b = {BIAS.tolist()} (not penalized)")
print(f"  MAE on the 4 examples             = {data_loss:.6f}")
print(f"  alpha*||w||_1 = {alpha:g} * {l1:g}   = {alpha * l1:.6f}")
print(f"  slide:  beta*||w||_2   = {beta:g} * {l2:.6g} = {beta * l2:.6f}"
      f"  -> total {slide_total:.6f}")
print(f"  Keras:  beta*sum w^2   = {beta:g} * {l2_squared:g}  = "
      f"{beta * l2_squared:.6f}  -> total {keras_total:.6f}")

# %% [markdown]
# ## What Keras adds: `model.losses`, and what `evaluate` reports

# %%
import keras  # the Keras side of the comparison

model = penalized_model(KERNEL, BIAS, alpha, beta)
x32, y32 = X.astype("float32"), Y.astype("float32")
penalty = float(sum(np.asarray(loss) for loss in model.losses))
reported = float(model.evaluate(x32, y32, verbose=0, return_dict=True)["loss"])
print(f"  model.losses (the penalty)        = {penalty:.6f}")
print(f"  loss Keras reports (evaluate)     = {reported:.6f}  (= MAE + penalty)")
with_bias = keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L1L2(
    l1=alpha, l2=beta), bias_regularizer=keras.regularizers.L1(alpha))
with_bias.build((None, 2))
with_bias.set_weights([KERNEL.astype("float32"), BIAS.astype("float32")])
bias_penalty = float(sum(np.asarray(loss) for loss in with_bias.losses)) - penalty
print(f"  with bias_regularizer=L1(alpha) the bias adds {bias_penalty:.6f} "
      f"(= alpha*|b| = {alpha * abs(BIAS[0]):.6f})")


results = run.finish({"vector": vector, "norms": norms, "alpha": alpha, "beta": beta,
                      "mae": data_loss, "kernel": w.tolist(), "l1": l1, "l2": l2,
                      "l2_squared": l2_squared, "slide_total": slide_total,
                      "keras_total_by_hand": keras_total, "keras_penalty": penalty,
                      "keras_reported_loss": reported, "bias_penalty_when_asked": bias_penalty})
