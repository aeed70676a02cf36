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


def let_go_when_a_cell_fails(folder: runs.RunDirectory) -> None:
    """In a Jupyter kernel: when a cell ends with an error while this run is going (a
    lesson stopped by the kernel's interrupt, or by a bad value), let go of its folder,
    as a process does by ending, so that a terminal can ``--resume`` the run (or a new
    run use its folder) while the kernel lives on. The hook goes with the run: once its
    results are written, or once a cell fails."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return

    def after_a_cell(result) -> None:  # IPython's post_run_cell: success is False on error
        if not result.success:
            folder.release()
        if not result.success or folder.results_written:
            shell.events.unregister("post_run_cell", after_a_cell)

    shell.events.register("post_run_cell", after_a_cell)


def show_figures(folders) -> None:
    from IPython.display import Image, display

    for folder in folders:
        for figure in sorted(Path(folder).glob("*.png")):
            display(Image(filename=str(figure)))
