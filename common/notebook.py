"""A recipe run inside a notebook: its flags come from a cell, its figures show inline.

From the command line a recipe parses ``sys.argv`` and writes its figures to PNG files.
In a Jupyter kernel ``sys.argv`` is the kernel's own (``-f kernel-....json``), so there
the recipe runs with the flags set in the notebook's parameters cell instead; the figures
are still written to files, and also shown below the cell. ``run_recipe`` is the recipe's
last cell: one call for both.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import cli, runs


def in_kernel() -> bool:
    """True inside a Jupyter kernel (a notebook, VS Code's interactive window)."""
    return "ipykernel" in sys.modules


def _flag_value(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _run_dirs() -> set[Path]:
    return set(runs.RUNS_DIR.iterdir()) if runs.RUNS_DIR.is_dir() else set()


def run_recipe(main, notebook_args=()) -> dict:
    """In a notebook, ``run(main, notebook_args)``; from a terminal, ``main`` with the
    command line's flags, exiting with its code (one-line errors, exit 2; see ``cli``)."""
    if in_kernel():
        return run(main, notebook_args)
    raise SystemExit(cli.console_main(main))


def run(main, argv=()) -> dict:
    """``main(argv)``, then show every figure the run wrote, in file-name order."""
    argv = [str(arg) for arg in argv]
    before = _run_dirs()
    # A run that stopped (an error, the kernel's interrupt) lets go of its folder, as a
    # process does by ending: --resume from a terminal, or deleting the folder and running
    # again, works without restarting the kernel.
    with runs.claims_released():
        results = main(argv)
    given = _flag_value(argv, "--out") or _flag_value(argv, "--resume")
    folders = [Path(given)] if given else sorted(_run_dirs() - before)
    show_figures(folders)
    return results


def show_figures(folders) -> None:
    from IPython.display import Image, display

    for folder in folders:
        for figure in sorted(Path(folder).glob("*.png")):
            display(Image(filename=str(figure)))
