"""
Title: The softmax table, recomputed
Slide topic: Softmax function (the four-row table of z and sigma(z))
Lecture order: 50
Dataset: none (the slide's numbers, or your own with --logits)
Run: python -m recipes.softmax --logits "1.47,-0.39,0.22; -2,2,-3"
Description: Softmax by hand, rounded as on the slide and exact, stable vs naive, and Keras.
Exercises: softmax
Tests: tests/test_lecture_math.py
"""

# %% [markdown]
# Softmax turns a vector of raw scores z into probabilities that sum to 1:
#
#     sigma(z)_i = exp(z_i) / sum_j exp(z_j)
#
# The slide's table rounds every probability to 2 decimals and prints 1.00 as every
# row's sum. That is true of the exact values, but the last row's *rounded* values are
# 0.02 + 0.98 + 0.01 = 1.01: rounding each entry does not preserve the sum.

# %% [markdown]
# ## Settings
# Change them here. The command line's flags start from them (`python -m recipes.softmax
# --logits "1,2,3; 10,0,-10"`; `--help` lists them), and so does the notebook's
# parameters cell below.

# %%
SETTINGS = {
    # the logits z, one row per example: comma-separated, rows separated by ';'
    "logits": [[1.47, -0.39, 0.22], [5.0, 6.0, 4.0], [0.9, 0.8, 1.1], [-2.0, 2.0, -3.0]],
}

# %% tags=["parameters"]
# The flags, as on the command line, over SETTINGS: [] for the slide's table, or your own
# logits, e.g. ["--logits", "1,2,3; 10,0,-10"].
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

from common import lesson
from common.errors import UsageError

# The slide's table: its logits z1..z3 (SETTINGS' default) and the probabilities as it
# prints them (2 decimals).
SLIDE_LOGITS = [[1.47, -0.39, 0.22], [5.0, 6.0, 4.0], [0.9, 0.8, 1.1], [-2.0, 2.0, -3.0]]
SLIDE_PROBABILITIES = [(0.69, 0.11, 0.20), (0.24, 0.67, 0.09), (0.32, 0.29, 0.39),
                       (0.02, 0.98, 0.01)]
OVERFLOW_LOGITS = (1000.0, 1001.0, 1002.0)

run = lesson.start("softmax", globals())
logits = run.settings["logits"]
logits = [list(z) for z in (logits if isinstance(logits[0], list) else [logits])]  # rows
if len({len(z) for z in logits}) > 1:
    raise UsageError("--logits: every row needs the same number of values")
slide = logits == SLIDE_LOGITS

# %% [markdown]
# ## The cell to copy
# It runs on its own: paste it into your own notebook, or print it with
# `python -m recipes show softmax`.

# %% Model (copy this cell)
# Two ways to write softmax. They agree on the slide's numbers; only the stable one
# survives large logits, because exp(1000) overflows float64 to inf, and inf/inf is NaN.
# Subtracting the row's maximum changes nothing mathematically (the factor exp(-max)
# cancels) but keeps every exponent <= 0.
import numpy as np


def softmax_naive(z):
    e = np.exp(np.asarray(z, dtype=np.float64))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_stable(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# %% [markdown]
# ## The slide's table, and the same numbers from Keras
# `keras.activations.softmax` and `keras.ops.softmax` compute the stable form in
# float32; they agree with the float64 computation to about 1e-7.

# %%
def keras_softmax(z):
    import keras

    z32 = np.asarray(z, dtype=np.float32)
    return (np.asarray(keras.activations.softmax(z32)),
            np.asarray(keras.ops.softmax(z32, axis=-1)))


def table(logits) -> list[dict]:
    rows = []
    for z in logits:
        exact = softmax_stable(z)
        rounded = np.round(exact, 2)
        rows.append({"z": list(z), "softmax": exact.tolist(), "rounded": rounded.tolist(),
                     "sum_exact": float(exact.sum()), "sum_rounded": float(rounded.sum())})
    return rows


def print_table(rows, slide_values=None):
    n = len(rows[0]["z"])
    head = "  ".join(f"{'z' + str(i + 1):>7}" for i in range(n))
    sig = "  ".join(f"{'s' + str(i + 1):>5}" for i in range(n))
    print(f"{head}  |  {sig}  {'sum':>5}  | exact softmax{'':<{max(0, 9 * n - 13)}} | sum")
    for i, row in enumerate(rows):
        z = "  ".join(f"{v:7.2f}" for v in row["z"])
        r = "  ".join(f"{v:5.2f}" for v in row["rounded"])
        e = " ".join(f"{v:.6f}" for v in row["softmax"])
        flag = ""
        if slide_values and tuple(row["rounded"]) != slide_values[i]:
            flag = f"  (slide prints {slide_values[i]})"
        if abs(row["sum_rounded"] - 1) > 1e-9:
            flag += "  <- rounded values do not sum to 1"
        print(f"{z}  |  {r}  {row['sum_rounded']:5.2f}  | {e} | {row['sum_exact']:.6f}{flag}")


# %%
rows = table(logits)
print("The slide's table" if slide else "Your logits", "(2 decimals, then exact):")
print_table(rows, SLIDE_PROBABILITIES if slide else None)

# %% [markdown]
# ## Large logits
# exp(1000) overflows float64 to inf: the naive form returns NaN, the stable one the
# right probabilities.

# %%
with np.errstate(over="ignore", invalid="ignore"):
    naive = softmax_naive(OVERFLOW_LOGITS)
stable = softmax_stable(OVERFLOW_LOGITS)
print(f"\nLarge logits {OVERFLOW_LOGITS}:")
print(f"  naive  exp(z)/sum exp(z):        {naive}   (exp(1000) overflows to inf)")
print(f"  stable exp(z-max)/sum exp(z-max): {np.round(stable, 6)}")

# %% [markdown]
# ## Keras agrees with the stable form

# %%
differences = {}
for z in logits + [list(OVERFLOW_LOGITS)]:
    with np.errstate(over="ignore", invalid="ignore"):  # reported below, not warned
        act, ops = keras_softmax(z)
        for name, value in (("keras.activations.softmax", act), ("keras.ops.softmax", ops)):
            differences.setdefault(name, []).append(np.abs(value - softmax_stable(z)).max())
# np.max, unlike max(), keeps a NaN: a Keras result that failed must show as failed.
agreement = {name: float(np.max(diffs)) for name, diffs in differences.items()}
for name, diff in agreement.items():
    note = "" if np.isfinite(diff) else (
        "  <- Keras returned NaN: it computes in float32, where logits beyond "
        "+-3.4e38 overflow to infinity")
    print(f"{name:<26} max |difference| from the stable form: {diff:.1e}{note}")

results = run.finish({
    "source": "slide" if slide else "user", "rows": rows,
    # NaN is not JSON: the naive result is recorded as null where it failed.
    "overflow": {"logits": OVERFLOW_LOGITS,
                 "naive": [v if np.isfinite(v) else None for v in naive.tolist()],
                 "stable": stable.tolist()},
    "keras_max_abs_difference": agreement})
