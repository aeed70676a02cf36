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


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.py") if not p.stem.startswith("_"))


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
