"""A recipe written as a lesson: its cells run top to bottom, as a script and as a notebook.

The settings a student changes are one plain dict at the lesson's top, ``SETTINGS``; its
flags are made from it (``--inputs 1,2`` for ``"inputs": [...]``), with the comment on
each entry's line as the flag's help. ``start`` is the one line of plumbing a student
does not copy: it returns the settings this run takes, the flags over ``SETTINGS``,

- in a terminal (``python -m recipes.NAME FLAGS``): the command line's, the lesson run
  again under ``common.cli.console_main``, so that every error is one line and exit 2;
- in a Jupyter kernel: the notebook's parameters cell's, ``NOTEBOOK_ARGS``;
- under ``recipes.run(NAME, argv)`` (tools, tests): ``argv``.

Imported as a module, a lesson would run: ``start`` refuses that in one line, naming
``recipes.run`` and ``recipes.cells`` (what its cells to copy define).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import runpy
import sys
import time
from pathlib import Path
from types import MappingProxyType

from common import cli, notebook, runs
from common.errors import UsageError

# The names under which ``run_file`` hands a lesson its flags and the ``with`` block its
# run's directory is let go at the end of, in the lesson's globals.
ARGV = "RECIPE_ARGV"
RUN_SCOPE = "RECIPE_RUN_SCOPE"


def run_file(path, argv=()) -> dict:
    """Run the lesson in file ``path`` from its top with the flags ``argv`` (as ``python
    path FLAGS`` does) and return its globals. Its run's directory is claimed inside this
    block and let go when it ends, however it ends (results written, an error, Ctrl-C),
    so one process can run one lesson after another."""
    with contextlib.ExitStack() as run_scope:
        return runpy.run_path(str(path), run_name="__main__", init_globals={
            ARGV: [str(arg) for arg in argv], RUN_SCOPE: run_scope})


class Lesson:
    """One run of a lesson: its ``settings`` (read-only), the run options it was given
    (``args``: ``--out``, ``--verbose``, ...) and where its results go."""

    def __init__(self, name: str, args, keys, folder: runs.RunDirectory):
        self.name, self.args, self.folder = name, args, folder
        self._trained = []
        values = {key: getattr(args, key) for key in keys}
        self._values = {  # as SETTINGS writes them: lists, not tuples
            key: list(value) if isinstance(value, tuple) else value
            for key, value in values.items()}
        self.settings = MappingProxyType(self._values)  # read-only, and kept current

    # A lesson that trains: its data, the run's callbacks, each model's record, and the
    # results with the learning curves (``finish_training``).

    def load_data(self, *, train_size: int | None = None):
        """The data this run trains on (``--dataset``, ``--quick``), named by its source:
        a ``common.datasets.Dataset`` (``.train``, ``.val``, ``.test``: ``(x, y)`` pairs).
        A batch size the settings leave to the data (None) is decided here and joins them.
        The backend is also made to repeat its numbers on a GPU."""
        from common import training

        self.args, self.data = training.load_data(self.args, train_size=train_size)
        training.repeatable_backend()  # after: a missing dataset fails before Keras loads
        if "batch_size" in self._values:
            self._values["batch_size"] = self.args.batch_size
        return self.data

    @property
    def verbose(self) -> int:
        """``fit``'s: 1 (a progress bar) with ``--verbose``, else 0 (the run's callbacks
        print a line per epoch, or every few epochs on long runs)."""
        return 1 if self.args.verbose else 0

    def callbacks(self, model, name: str = "model", extra=()) -> tuple[list, int]:
        """``(callbacks, initial_epoch)`` for ``model.fit``: the lesson's own callbacks
        (``extra``: early stopping, ...) and the run's (stop on a NaN loss, Ctrl-C and
        ``--resume``, progress lines), and the epoch ``fit`` starts from: 0, or where a
        resumed run stopped (its state is loaded into ``model`` here). ``name``: the
        model's, one per model the lesson trains."""
        from common import training

        return training.fit_callbacks(model, self.args, extra, name=name,
                                      epochs=self.settings["epochs"], folder=self.folder)

    def record(self, model, history, scores: dict, *, monitor: str = "val_loss",
               variant: dict | None = None) -> dict:
        """One trained model's record for results.json, from ``fit``'s history and the
        evaluation cell's scores; ``variant``: the settings it was built with (its
        kernel weights' sizes are recorded too)."""
        from common import training, weights

        made = training.record(model, self.data, history, scores, monitor=monitor)
        self._trained.append(model)  # held, so that finish_training saves every model
        if variant is not None:
            made["settings"] = variant
            made["weights"] = weights.kernel_stats(model)
        return made

    def finish_training(self, records: dict, **options) -> dict:
        """Write results.json (each model's record, the data's source, the settings)
        and the learning curves, print the summary table; in a notebook, show the
        figures. ``options``: ``training.finish``'s (``main``, ``extra``, ``marks``,
        ``figures``). Returns the results."""
        from common import training

        results = training.finish(self.data, self.args, records, self.folder, **options)
        if notebook.in_kernel():
            notebook.show_figures([results["out_dir"]])
        return results

    def finish(self, results: dict, figures: dict | None = None) -> dict:
        """Draw ``figures`` (file name -> a function that draws at the path it is given)
        and write ``results``, with the settings it ran with and its time, as
        results.json in the run's directory, once; in a notebook, show the figures.
        Returns the results."""
        results = {"recipe": self.name, **results, "settings": dict(self.settings),
                   **({"quick": True} if getattr(self.args, "quick", False) else {}),
                   "seconds": round(time.perf_counter() - self.args.started, 2)}
        folder = self.folder.write_results(results, figures=figures)
        if notebook.in_kernel():
            notebook.show_figures([folder])
        return results


def _is_numbers(value) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def _flag_type(name: str, default):
    """The flag's type, from its setting's value: whole numbers, numbers, text, a list of
    numbers ("1,2,3"), rows of numbers ("1,2; 3,4"); True/False is a switch (None)."""
    if isinstance(default, bool):
        return None  # a switch: --name / --no-name
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return cli.finite_float
    if isinstance(default, str):
        return str
    if _is_numbers(default) and default and all(isinstance(v, int) for v in default):
        return cli.int_list
    if _is_numbers(default) and default:
        return cli.number_list
    if isinstance(default, (list, tuple)) and default and all(map(_is_numbers, default)):
        return cli.number_rows
    raise TypeError(f"SETTINGS['{name}'] = {default!r}: a setting is a number, a string, "
                    "True/False, a list of numbers or a list of such lists; or give start() "
                    "its type")


def _shown(default, kind) -> str:
    if isinstance(default, (list, tuple)) and all(isinstance(v, str) for v in default):
        return ",".join(default)
    if kind is cli.number_rows:
        return "; ".join(",".join(f"{v:g}" for v in row) for row in default)
    if kind in (cli.number_list, cli.int_list):
        return ",".join(f"{v:g}" for v in default)
    return str(default)


def _help_comments(source: str) -> dict[str, str]:
    """Each SETTINGS entry's comment: at the end of its ``"name": value,`` line, or on the
    comment lines just above it."""
    block = re.search(r"^SETTINGS = \{\n(.*?)^\}", source, re.M | re.S)
    helps, above = {}, []
    for line in block[1].splitlines() if block else []:
        entry = re.match(r'\s+"(\w+)": .*?(?:#\s*(.+))?$', line)
        if entry:
            helps[entry[1]] = entry[2] or " ".join(above)
            above = []
        elif line.strip().startswith("#"):
            above.append(line.strip().lstrip("#").strip())
    return {key: text for key, text in helps.items() if text}


def parser(name: str, namespace: dict, *, types: dict | None = None,
           choices: dict | None = None, **shared) -> cli.RecipeParser:
    """The lesson's flags: one per SETTINGS entry, in its order, then the flags every
    recipe shares (``shared``: ``cli.recipe_parser``'s, e.g. ``datasets=``, ``epochs=``;
    a setting it already has, such as ``epochs``, only gives it its default)."""
    settings = namespace["SETTINGS"]
    file = namespace.get("__file__")
    helps = _help_comments(Path(file).read_text()) if file else {}
    for key in ("epochs", "batch_size"):  # a lesson that trains: the shared flags take them
        if key in settings:
            shared.setdefault(key, settings[key])
    made = cli.recipe_parser(name, namespace.get("__doc__") or "", **shared)
    shared_flags = {action.dest: action for action in made._actions}
    for key, default in settings.items():
        if key in shared_flags:  # --epochs, --seed, ...: the setting's value and comment
            made.set_defaults(**{key: default})
            shared_help = shared_flags[key].help or ""
            # None leaves the choice to the run (the batch size, by the data's size): the
            # shared flag's help says how it chooses.
            chosen = re.search(r"\(default: .*\)$", shared_help) if default is None else None
            text = helps.get(key)
            shared_flags[key].help = (f"{text} {chosen[0]}" if text and chosen
                                      else text or shared_help)
            continue
        flag, text = "--" + key.replace("_", "-"), helps.get(key, key.replace("_", " "))
        kind = (types or {}).get(key) or _flag_type(key, default)
        if kind is None:
            made.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                              help=text)
            continue
        made.add_argument(flag, type=kind, default=default, dest=key,
                          choices=list((choices or {}).get(key, [])) or None,
                          help=f"{text} (default: {_shown(default, kind)})")
    return made


def _check_settings(made: cli.RecipeParser, settings: dict) -> None:
    """Each SETTINGS value passes its flag's checks, as the same value typed as a flag
    would (a rate of 1.5, a layer of 0 units): refused in one line, not by Keras later."""
    actions = {action.dest: action for action in made._actions}
    for key, value in settings.items():
        action = actions.get(key)
        if action is None or value is None or isinstance(value, bool):
            continue
        try:
            if callable(action.type):
                action.type(_shown(value, action.type))
            if action.choices is not None and value not in action.choices:
                raise argparse.ArgumentTypeError(
                    f"choose from {', '.join(map(str, action.choices))}")
        except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
            raise UsageError(f"SETTINGS['{key}'] = {value!r}: {error}; change it at the top "
                             "of the lesson") from None


def start(name: str, namespace: dict, *, types: dict | None = None,
          choices: dict | None = None, **shared) -> Lesson:
    """The settings this run of lesson ``name`` takes (``namespace``: its ``globals()``),
    and where its results go. ``types`` gives a setting's flag type where its value does
    not (e.g. ``cli.non_negative_float``); ``choices`` limits a string setting to the keys
    it gives; ``shared`` goes to ``cli.recipe_parser``."""
    argv = namespace.get(ARGV)
    if argv is None and notebook.in_kernel():
        argv = namespace.get("NOTEBOOK_ARGS", [])
    elif argv is None and namespace.get("__name__") == "__main__":
        path = namespace["__file__"]

        def again(flags):  # the whole lesson, from its top, with the flags given
            run_file(path, sys.argv[1:] if flags is None else flags)

        raise SystemExit(cli.console_main(again))
    elif argv is None:
        raise UsageError(f"recipes.{name} is a lesson, which runs when it is imported: run it "
                         f"with recipes.run('{name}', flags), or take what its cells to copy "
                         f"define with recipes.cells('{name}')")
    if notebook.in_kernel():
        notebook.let_go_of_earlier_runs()
    made = parser(name, namespace, types=types, choices=choices, **shared)
    _check_settings(made, namespace["SETTINGS"])
    args = made.parse_args([str(arg) for arg in argv])
    # Where the run writes, claimed at its first write (--resume DIR's at once, so that
    # a run still going there is refused before any work) and let go when the run ends.
    folder = runs.RunDirectory(name, args.out, resume=args.run_dir,
                               argv=args.argv if made.resumable else None)
    if namespace.get(RUN_SCOPE) is not None:
        namespace[RUN_SCOPE].enter_context(folder)
    elif notebook.in_kernel():
        notebook.let_go_when_a_cell_fails(folder)
    if args.run_dir is not None:
        folder.claim()
    return Lesson(name, args, namespace["SETTINGS"], folder)
