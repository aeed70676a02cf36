"""The recipes: one literate script per lecture topic.

This package finds its recipes and reads their header fields without importing them,
so ``python -m recipes list`` (and every ``--help``) stays instant: TensorFlow is only
imported by a recipe that trains or computes something.
"""

from __future__ import annotations

import ast
from pathlib import Path

from common.cli import header_fields
from common.errors import UsageError

RECIPES_DIR = Path(__file__).parent
COPY_CELL = "(copy this cell)"  # the end of the title line of every cell a student copies
END_TO_END_CELLS = {"Data", "Model", "Training", "Evaluation"}  # a training recipe's

# What `show` adds after a training recipe's cells (data, model, training, evaluation):
# the lines that call them, so that the whole of it trains in an empty notebook.
END_TO_END = """\
# %% Train and evaluate
import keras

keras.utils.set_random_seed(0)  # the same seed gives the same numbers
(x_train, y_train), (x_val, y_val), (x_test, y_test) = load_data()
model = build_model()
history = train(model, x_train, y_train, x_val, y_val{callbacks})
scores = evaluate(model, {{"train": (x_train, y_train), "validation": (x_val, y_val),
                          "test": (x_test, y_test)}})
for split, metrics in scores.items():
    print(f"{{split:<10}}", "  ".join(f"{{name}} {{value:.4f}}" for name, value in metrics.items()))
"""

# The order of the slides: `recipes list`, the README's lecture map and the notebooks
# follow it. A recipe missing here is listed after these, alphabetically.
LECTURE_ORDER = (
    "neuron",                   # what a unit computes
    "universal_approximation",  # a large single-layer network approximates any function
    "backprop",                 # backpropagation: general overview
    "output_layers",            # output layer: regression and classification tasks
    "softmax",                  # the softmax function and its table
    "cross_entropy",            # the cross-entropy loss: one example, then a dataset
    "iris_softmax",             # softmax + cross-entropy on the slides' Iris example
    "norms_penalties",          # penalty terms, lp norms, l1 and l2 regularization
    "iris_l1_l2",               # l1 and l2 regularization side by side
    "mnist_l2",                 # the Keras example: Dense(50, kernel_regularizer=l2(0.001))
    "mnist_mlp",                # the model on the Dropout slide, corrected
    "mnist_dropout",            # Dropout
    "mnist_early_stopping",     # early stopping
    "compare",                  # the summary: every regularizer side by side
)


def recipe_names() -> list[str]:
    """Every recipe, in the lecture's order."""
    found = {p.stem for p in RECIPES_DIR.glob("*.py") if not p.stem.startswith("_")}
    return [n for n in LECTURE_ORDER if n in found] + sorted(found - set(LECTURE_ORDER))


def recipe_path(name: str) -> Path:
    names = recipe_names()
    if name not in names:
        raise UsageError(f"unknown recipe '{name}'; choose from: {', '.join(names)}")
    return RECIPES_DIR / f"{name}.py"


def recipe_info(name: str) -> dict:
    """A recipe's header fields (title, slide topic, dataset, run, description)."""
    return header_fields(ast.get_docstring(ast.parse(recipe_path(name).read_text())))


def copy_cells(name: str) -> dict[str, str]:
    """The recipe's cells to copy, by title (e.g. "Model"), in the recipe's order."""
    cells, current = {}, None
    for line in recipe_path(name).read_text().splitlines():
        if line.startswith("# %%"):
            title = line.removeprefix("# %%").strip()
            current = [] if title.endswith(COPY_CELL) else None
            if current is not None:
                cells[title.removesuffix(COPY_CELL).strip()] = current
            continue
        if current is not None:
            current.append(line)
    return {title: "\n".join(lines).strip() for title, lines in cells.items()}


def trains_end_to_end(name: str) -> bool:
    """Whether the recipe has data, training and evaluation cells besides its model."""
    return END_TO_END_CELLS <= set(copy_cells(name))


def snippet(name: str) -> str:
    """What ``show`` prints: the recipe's cells to copy, each under its ``# %%`` title,
    and for a training recipe the lines that call them, so that pasted into an empty
    notebook they load the data, build, train and evaluate a model."""
    cells = copy_cells(name)
    if "Model" not in cells:
        raise UsageError(f"recipe '{name}' has no model cell to show")
    text = "\n\n\n".join(f"# %% {title}\n{body}" for title, body in cells.items()) + "\n"
    if END_TO_END_CELLS <= set(cells):  # read once: trains_end_to_end would read again
        callbacks = ", callbacks=[early_stopping()]" if "Callbacks" in cells else ""
        text += "\n\n" + END_TO_END.format(callbacks=callbacks)
    return text
