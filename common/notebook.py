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


def _shell():
    """The running IPython shell, or None (not in a kernel)."""
    from IPython import get_ipython

    return get_ipython()


def let_go_when_a_cell_fails(folder: runs.RunDirectory) -> None:
    """In a Jupyter kernel: when a cell ends with an error while this run is going (a
    lesson stopped by the kernel's interrupt, or by a bad value), let go of its folder,
    as a process does by ending, so that a terminal can ``--resume`` the run while the
    kernel lives on; the run's next write in this kernel claims it again, as its own. A
    lesson started again lets go of the earlier run's folder the same way. The hook goes
    once the run's results are written."""
    shell = _shell()
    if shell is None:
        return

    def after_a_cell(result) -> None:  # IPython's post_run_cell: success is False on error
        if not result.success:
            folder.release()
        if folder.results_written:
            shell.events.unregister("post_run_cell", after_a_cell)

    after_a_cell.run_folder = folder
    shell.events.register("post_run_cell", after_a_cell)


def let_go_of_earlier_runs() -> None:
    """In a Jupyter kernel: a lesson started again leaves the runs started before it in
    this kernel; let go of their folders (and their hooks), so that the new run may
    ``--resume`` one. (A later write of such a run would claim its folder again.)"""
    shell = _shell()
    if shell is None:
        return
    for hook in list(shell.events.callbacks["post_run_cell"]):
        if getattr(hook, "run_folder", None) is not None:
            hook.run_folder.release()
            shell.events.unregister("post_run_cell", hook)


def show_figures(folders) -> None:
    from IPython.display import Image, display

    for folder in folders:
        for figure in sorted(Path(folder).glob("*.png")):
            display(Image(filename=str(figure)))
