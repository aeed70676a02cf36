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
SNIPPET_CELL = "# %% Model"

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


def snippet(name: str) -> str:
    """The recipe's copyable model cell(s): every cell whose title starts with 'Model'."""
    cells, current = [], None
    for line in recipe_path(name).read_text().splitlines():
        if line.startswith("# %%"):
            current = [] if line.startswith(SNIPPET_CELL) else None
            if current is not None:
                cells.append(current)
            continue
        if current is not None:
            current.append(line)
    if not cells:
        raise UsageError(f"recipe '{name}' has no model cell to show")
    return "\n\n".join("\n".join(cell).strip() for cell in cells) + "\n"
