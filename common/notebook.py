"""A lesson run inside a notebook: its figures show inline, and a stopped run lets go of
its folder.

From the command line a recipe parses ``sys.argv`` and writes its figures to PNG files.
In a Jupyter kernel ``sys.argv`` is the kernel's own (``-f kernel-....json``), so there
the lesson runs with the flags set in the notebook's parameters cell instead
(``common.lesson``); the figures are still written to files, and also shown below the
cell.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import runs


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a notebook, VS Code's interactive window)."""
    return "ipykernel" in sys.modules


def let_go_of_runs_when_a_cell_fails() -> None:
    """In a Jupyter kernel: when a cell ends with an error (a lesson stopped by the
    kernel's interrupt, or by a bad value), let go of the run folders claimed so far, as
    a process does by ending, so that a terminal can ``--resume`` the run (or a new run
    use its folder) while the kernel lives on. Registered once per kernel."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None and release_claims_after_a_failed_cell not in \
            shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", release_claims_after_a_failed_cell)


def release_claims_after_a_failed_cell(result) -> None:
    """IPython's ``post_run_cell`` event: ``result.success`` is False after an error."""
    if not result.success:
        for path in runs.held():
            runs.release(path)


def show_figures(folders) -> None:
    from IPython.display import Image, display

    for folder in folders:
        for figure in sorted(Path(folder).glob("*.png")):
            display(Image(filename=str(figure)))
