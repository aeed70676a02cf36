"""Coursework: one exercise per lecture topic, graded by ``python -m tools grade``.

Each exercise is a file ``NN_name.py`` in this folder: a docstring with the task, then
functions whose bodies are TODOs. Reference solutions, with the same file names, are in
``solutions/``; the checks the grader runs are in ``checks.py``.

This package reads the exercises' header fields without importing anything heavy, so
``python -m tools grade list`` (and ``grade --help``) never loads TensorFlow.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from common.cli import header_fields
from common.errors import UsageError

EXERCISES_DIR = Path(__file__).parent
SOLUTIONS_DIR = EXERCISES_DIR / "solutions"
_STUB_NAME = re.compile(r"^(\d+)_(\w+)\.py$")


def _stubs() -> dict[str, Path]:
    """Exercise name -> stub file, in the order of their numbers."""
    found = {}
    for path in sorted(EXERCISES_DIR.glob("*.py")):
        match = _STUB_NAME.match(path.name)
        if match:
            found[match.group(2)] = path
    return found


def exercise_names() -> list[str]:
    return list(_stubs())


def resolve(name: str) -> str:
    """The exercise called ``name``, also accepted with its number (``02_softmax``)."""
    stubs = _stubs()
    for exercise, path in stubs.items():
        if name in (exercise, path.stem):
            return exercise
    raise UsageError(f"unknown exercise '{name}'; choose from: {', '.join(stubs)}")


def stub_path(name: str) -> Path:
    return _stubs()[resolve(name)]


def solution_path(name: str) -> Path:
    return SOLUTIONS_DIR / stub_path(name).name


def exercise_info(name: str) -> dict:
    """The stub's header fields (title, slide topic, functions, grade)."""
    return header_fields(ast.get_docstring(ast.parse(stub_path(name).read_text())))
