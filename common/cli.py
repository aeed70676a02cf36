"""The flags every recipe shares, their validation, and the process wrapper.

Argument errors raise UsageError, so a recipe can be run from tests and other code
(``recipes.run(NAME, argv)``); ``console_main`` turns them into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import contextvars
import errno
import importlib.util
import math
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

from common.errors import UsageError
# Upper bounds the libraries set, checked before any work starts.
from common.limits import MAX_COUNT, MAX_SEED

# The training path's speed settings (see docs/performance.md); flags override them.
DEFAULT_BATCH_SIZE = 128
LARGE_BATCH_SIZE = 512
LARGE_DATA_EXAMPLES = 20_000
DEFAULT_STEPS_PER_EXECUTION = 32

QUICK_TRAIN_EXAMPLES = 2048
QUICK_VAL_EXAMPLES = 512
QUICK_EPOCHS = 2
SENSIBLE_EPOCHS = 500
SENSIBLE_SEEDS = 20

# Hidden layers: far wider than these datasets use (16 to 300 units), and small enough that
# the model and its optimizer's state fit in memory (4 bytes a weight, three copies with
# Adam's): a layer of 2**31 units asked for tens of GB and ended in "out of memory".
MAX_LAYER_WIDTH = 65_536
MAX_HIDDEN_WEIGHTS = 2**28


# Keras backends the recipes run on (docs/maintaining.md, "Backends"). PyTorch is not offered: from
# the package index it installs with its CUDA libraries, several GB on a CPU machine.
BACKENDS = ("tensorflow", "jax")
BACKEND_INSTALL = {
    "tensorflow": "python3 -m pip install -r requirements.txt",
    "jax": "python3 -m pip install -r requirements-jax.txt",
}
# Installed as a package there are no requirements files: the package's extras instead.
BACKEND_EXTRAS = {"tensorflow": "cpu", "jax": "cpu,jax"}


def backend_install_command(name: str, project: Path | None = None) -> str:
    """The command that installs backend ``name`` the way this project was installed: the
    pinned requirements file in a clone, else the package with its extra."""
    project = project or Path(__file__).resolve().parents[1]
    command = BACKEND_INSTALL[name]
    if (project / command.rsplit(" ", 1)[1]).is_file():
        return command
    return f'python3 -m pip install "keras-lecture-recipes[{BACKEND_EXTRAS[name]}]"'


def default_backend() -> str:
    """The backend Keras already runs on in this process, else ``KERAS_BACKEND``, else
    TensorFlow (the default: see docs/maintaining.md, "Backends")."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    return os.environ.get("KERAS_BACKEND") or "tensorflow"


def select_backend(name: str) -> str:
    """Make Keras run on ``name``: sets ``KERAS_BACKEND``, which Keras reads once, at its
    first import, so this must come before any ``import keras``. One-line errors (exit 2)
    for an unknown backend, one that is not installed, and a process whose Keras already
    runs on another backend."""
    if name not in BACKENDS:
        raise UsageError(f"backend '{name}' (from --backend or KERAS_BACKEND) is not one "
                         f"of: {', '.join(BACKENDS)}")
    if importlib.util.find_spec(name) is None:
        raise UsageError(f"--backend {name}: {name} is not installed; install it with "
                         f"{backend_install_command(name)}")
    keras = sys.modules.get("keras")
    current = keras.backend.backend() if keras is not None and hasattr(keras, "backend") \
        else None
    if current is not None and current != name:
        raise UsageError(f"--backend {name}: Keras already runs on {current} in this process "
                         "(it picks its backend once, when first imported); start a new "
                         f"process, or set KERAS_BACKEND={name} before importing keras")
    os.environ["KERAS_BACKEND"] = name
    return name


def require_backend(args, backend: str, why: str) -> None:
    """A recipe that only runs on ``backend`` refuses another in one line, saying why."""
    if getattr(args, "backend", backend) != backend:
        raise UsageError(f"--backend {args.backend}: this recipe runs on {backend} only "
                         f"({why}); use --backend {backend}")


def add_backend_flag(parser) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default=default_backend(),
                        help="Keras backend: tensorflow, or jax (faster with Dropout and L2 "
                             "on a CPU; docs/maintaining.md, \"Backends\"; needs requirements-jax.txt); "
                             "KERAS_BACKEND sets the default")


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Ends every help line with its default, unless the help states it already."""

    def _get_help_string(self, action):
        if "(default:" in (action.help or ""):
            return action.help
        if action.nargs == 0 and action.default is False:  # a switch: off unless given
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one actionable line (a UsageError)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        if getattr(parsed, "backend", None):  # before anything imports Keras
            select_backend(parsed.backend)
        return parsed

    def error(self, message):
        if "expected one argument" in message:
            flag = re.search(r"argument (--[\w-]+)", message)
            example = f"{flag[1]}=-2,2,-3" if flag else "--logits=-2,2,-3"
            message += f" (a value that starts with '-' needs '=', as in {example})"
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _number(text, kind, valid, requirement, high=None, limit=""):
    try:
        value = kind(text)
    except (TypeError, ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got '{text}'")
    if isinstance(value, float) and not math.isfinite(value) or not valid(value):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got '{text}'")
    if high is not None and value > high:
        raise argparse.ArgumentTypeError(f"must be at most {high} ({limit}), got '{text}'")
    return value


def positive_int(text):
    return _number(text, int, lambda v: v > 0, "a whole number > 0", MAX_COUNT,
                   "TensorFlow counts in 32-bit integers")


def non_negative_int(text):
    return _number(text, int, lambda v: v >= 0, "a whole number >= 0", MAX_COUNT,
                   "TensorFlow counts in 32-bit integers")


def seed(text):
    return _number(text, int, lambda v: v >= 0, "a whole number >= 0", MAX_SEED,
                   "NumPy's and Keras' limit for seeds")


def non_negative_float(text):
    return _number(text, float, lambda v: v >= 0, "a number >= 0")


def positive_float(text):
    return _number(text, float, lambda v: v > 0, "a number > 0")


def finite_float(text):
    return _number(text, float, lambda v: True, "a finite number")


def rate(text):  # 0 is the "none" variant a recipe trains beside the rate it is given
    return _number(text, float, lambda v: 0 < v < 1, "a rate in (0, 1)")


def variant_list(known: dict):
    """An argparse type: 'l1,l2' -> ['l1', 'l2'], names checked against ``known``."""

    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in known]
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"unknown variant {', '.join(repr(n) for n in unknown) or repr(text)}; "
                f"choose from: {', '.join(known)}")
        return list(dict.fromkeys(names))

    return parse


def int_list(text):
    """'300,100' -> (300, 100): layer widths."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or any(not 0 < v <= MAX_COUNT for v in values):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated whole numbers > 0 such as '300,100', got '{text}'")
    return values


def resume_dir(text: str) -> str:
    """An argparse type for ``--resume DIR``: not empty, which would name this folder
    (most often a variable that is not set)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty (an unset variable in the command?); give "
                                         "the directory of an interrupted run")
    return text


def check_hidden(hidden) -> None:
    """Refuse, before any work, hidden layers too wide to fit in memory (``--hidden``:
    one width, or several)."""
    if hidden is None:
        return
    widths = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    shown = ",".join(map(str, widths))
    if any(width > MAX_LAYER_WIDTH for width in widths):
        raise UsageError(f"--hidden {shown}: at most {MAX_LAYER_WIDTH} units per layer (these "
                         "datasets use 16 to 300; a wider layer does not fit in memory)")
    weights = sum(a * b for a, b in zip(widths, widths[1:]))
    if weights > MAX_HIDDEN_WEIGHTS:
        raise UsageError(f"--hidden {shown}: {weights:,} weights between the hidden layers, "
                         f"more than the {MAX_HIDDEN_WEIGHTS:,} that fit in memory; use "
                         "narrower layers")


def command_and_rest(argv, usage: str) -> tuple[str | None, list[str]]:
    """A command line's first word and the rest (``sys.argv[1:]`` when ``argv`` is None);
    ``None`` after printing ``usage`` when there is no command or it asks for help."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage)
        return None, []
    return argv[0], argv[1:]


def header_lines(docstring: str) -> list[str]:
    """The lines that open a recipe's docstring, up to the first blank one: its header."""
    lines = (docstring or "").strip().splitlines()
    blank = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    return lines[:blank]


def header_fields(docstring: str) -> dict:
    """The header's 'Field: value' lines, keys lower-cased."""
    fields = {}
    for line in header_lines(docstring):
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def runs_recipe(run: str, name: str) -> bool:
    """Whether a header's ``Run:`` command runs recipe ``name``."""
    return f"recipes.{name}" in run or f"recipes run {name}" in run


def default_batch_size(n_train: int) -> int:
    """128 examples per step; 512 on full-size data, where a step's fixed cost (the
    optimizer's update, dropout's random numbers, one call into TensorFlow) dominates:
    1.5-2x faster per epoch there, as accurate after the same epochs."""
    return LARGE_BATCH_SIZE if n_train >= LARGE_DATA_EXAMPLES else DEFAULT_BATCH_SIZE


class FlagsParsed(Exception):
    """Raised by ``RecipeParser.parse_args`` inside ``flags_only()``: the flags a recipe
    would run with, before it checks a folder or loads data."""

    def __init__(self, namespace: argparse.Namespace):
        super().__init__("flags parsed")
        self.namespace = namespace


_FLAGS_ONLY = contextvars.ContextVar("flags_only", default=False)


@contextlib.contextmanager
def flags_only():
    """Inside the block, a recipe's run (``recipes.run``) stops at its parser and raises
    ``FlagsParsed`` with the parsed flags: how the baselines read a recipe's flags (the
    project's, or a student's copy) without running it."""
    token = _FLAGS_ONLY.set(True)
    try:
        yield
    finally:
        _FLAGS_ONLY.reset(token)


class Flags(argparse.Namespace):
    """A run's settings, as parsed: read-only. A setting decided later (the batch size,
    once the data's size is known; the run's directory) makes a new value,
    ``flags.replace(batch_size=128)``, so what one part of a run reads is what it was
    given, whatever another part does with its copy."""

    def __init__(self, **settings):
        for name, value in settings.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"the flags are read-only: flags.replace({name}=...) makes a "
                             "new value")

    def __delattr__(self, name):
        raise AttributeError(f"the flags are read-only: {name} stays")

    def replace(self, **changes) -> "Flags":
        return Flags(**{**vars(self), **changes})


class RecipeParser(Parser):
    """A recipe's parser. ``parse_args`` is the one way a recipe reads its flags: it
    applies ``--quick``, checks ``--out`` before any work (``args.out`` is then a checked
    path or None), and, for a resumable recipe given ``--resume DIR``, parses the command
    line the interrupted run in DIR was started with instead. The flags it returns are
    read-only (``Flags``) and also hold ``recipe``, ``argv`` (the flags in force),
    ``run_dir`` (DIR when resuming, else None) and ``started`` (the run's clock). It
    writes nothing: the run claims its directory (``runs.RunDirectory``)."""

    def __init__(self, *args, resumable: bool = False, quick_epochs: int = QUICK_EPOCHS,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.resumable, self.quick_epochs = resumable, quick_epochs
        # argparse's "options:" holds the flags the recipe adds itself: its lesson's.
        self._optionals.title = "this recipe's settings"

    def _flags_in_usage_order(self) -> list:
        """The recipe's own flags first, as in the help below the usage line: argparse
        lists flags in the order they were added, and the shared ones come first."""
        own = self._optionals._group_actions
        return own + [action for action in self._actions if action not in own]

    def _formatter_with_usage(self):
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, self._flags_in_usage_order(),
                            self._mutually_exclusive_groups)
        return formatter

    def format_usage(self) -> str:
        return self._formatter_with_usage().format_help()

    def format_help(self) -> str:  # argparse's own, with the usage line above
        formatter = self._formatter_with_usage()
        formatter.add_text(self.description)
        for group in self._action_groups:
            formatter.start_section(group.title)
            formatter.add_text(group.description)
            formatter.add_arguments(group._group_actions)
            formatter.end_section()
        formatter.add_text(self.epilog)
        return formatter.format_help()

    def parse_flags(self, argv) -> argparse.Namespace:
        """The flags alone, with ``--quick`` applied: nothing checked on disk."""
        args = Parser.parse_args(self, argv)
        check_hidden(getattr(args, "hidden", None))
        if getattr(args, "quick", False):
            args.epochs = min(args.epochs, self.quick_epochs)
        if getattr(args, "epochs", 0) > SENSIBLE_EPOCHS and hasattr(args, "dataset"):
            print(f"warning: {args.epochs} epochs is far more than these datasets need; "
                  "early stopping or fewer epochs will give the same accuracy sooner",
                  file=sys.stderr)
        return args

    # Flags that say where and how a resumed run goes on, not what it computes.
    RESUME_MAY_CHANGE = {"resume", "verbose", "offline", "backend", "workers", "scheduler",
                         "help"}

    def refuse_new_settings(self, parsed) -> None:
        """``--resume DIR`` goes on with the settings saved in DIR; a flag that would set
        another (``--epochs``, ``--out``, ...) is refused by name, not silently ignored."""
        changed = [action.option_strings[-1] for action in self._actions
                   if action.option_strings and action.dest not in self.RESUME_MAY_CHANGE
                   and getattr(parsed, action.dest, None) != action.default]
        if changed:
            raise UsageError(f"--resume {parsed.resume} goes on with the settings the run was "
                             f"started with; leave out {', '.join(changed)} (a new run takes "
                             "new settings)")

    def parse_args(self, args=None, namespace=None) -> Flags:
        from common import checkpoint, runs

        argv = list(sys.argv[1:] if args is None else args)
        parsed = self.parse_flags(argv)
        if _FLAGS_ONLY.get():
            raise FlagsParsed(parsed)
        recipe = self.prog.rsplit(".", 1)[-1]
        run_dir = saved = None
        if getattr(parsed, "resume", None) is not None:
            if self.resumable:  # a directory that holds no such run is the first thing said
                run_dir = Path(parsed.resume)
                saved = runs.saved_argv(run_dir, recipe)
            # The flags as given: --quick's own change to --epochs is not a second flag.
            self.refuse_new_settings(Parser.parse_args(self, argv))
        if getattr(parsed, "resume", None) is None:
            parsed.out = runs.check_out_dir(getattr(parsed, "out", None), self.resumable)
        elif self.resumable:
            argv = saved
            parsed = self.parse_flags(argv)
            for state in sorted((run_dir / "backup").glob("*/")):
                checkpoint.read_state(state)  # a damaged state is refused before any work
            print(f"resuming {run_dir}: {' '.join(argv)}")
        return Flags(**vars(parsed), run_dir=run_dir, argv=argv, recipe=recipe,
                     started=time.perf_counter())


def recipe_parser(name: str, docstring: str, *, datasets=None, default_dataset=None,
                  epochs: int | None = None, batch_size: int | None = None,
                  resumable: bool = False, quick_epochs: int = QUICK_EPOCHS) -> RecipeParser:
    """A parser with the shared flags; the recipe adds its own hyperparameters.

    Recipes that read a dataset get ``--dataset`` and ``--offline``; recipes that train
    get ``--epochs``, ``--batch-size``, ``--steps-per-execution`` and ``--quick``.
    ``batch_size=None`` leaves ``args.batch_size`` None until the data is loaded, when
    ``default_batch_size`` picks it from the number of training examples. ``--quick``
    trains at most ``quick_epochs`` epochs.
    """
    header = header_fields(docstring)
    run = header.get("run", "")
    if run and not runs_recipe(run, name):
        # A recipe copied to start a new one, with the old name left in its code: its
        # runs would be recorded, and checked, as the other recipe's.
        raise UsageError(f"lesson.start('{name}', ...) in a recipe whose header says "
                         f"'Run: {run[:50]}': give it the name of the recipe's own file")
    parser = RecipeParser(
        prog=f"python -m recipes.{name}", resumable=resumable, quick_epochs=quick_epochs,
        description=f"{header.get('title', name)}. {header.get('description', '')}",
        epilog=f"Slide topic: {header.get('slide topic', '-')}")
    # The recipe's own settings (added by the recipe) are listed first, under "options";
    # then what every training recipe shares, then how and where it runs.
    computes_only = not datasets and not epochs  # the lecture-math recipes
    training = None if computes_only else parser.add_argument_group("data and training")
    run = parser.add_argument_group("run options")
    choice_of_data = datasets is not None and len(datasets) > 1
    if datasets:
        # One dataset (Iris): nothing to choose, so --help does not offer the flag; it is
        # still accepted, as the baselines and older runs' saved flags pass it.
        training.add_argument("--dataset", choices=datasets, default=default_dataset,
                              help="dataset to train on" if choice_of_data
                              else argparse.SUPPRESS)
    if epochs:
        training.add_argument("--epochs", type=positive_int, default=epochs,
                              help="maximum number of training epochs")
        training.add_argument("--batch-size", type=positive_int, default=batch_size,
                              help="examples per gradient step (default: "
                                   + (f"{batch_size})" if batch_size else
                                      f"{DEFAULT_BATCH_SIZE}, or {LARGE_BATCH_SIZE} from "
                                      f"{LARGE_DATA_EXAMPLES:,} training examples on)"))
    if not computes_only:  # the lecture-math recipes draw nothing at random
        training.add_argument("--seed", type=seed, default=0,
                              help="random seed for weights, shuffling and dropout")
    if epochs:
        training.add_argument("--quick", action="store_true",
                              help=f"a run of seconds: at most {quick_epochs} epochs"
                                   + (f" on {QUICK_TRAIN_EXAMPLES} training examples"
                                      if choice_of_data else "")
                                   + " (for tests and CI)")
        run.add_argument("--steps-per-execution", type=positive_int,
                         default=DEFAULT_STEPS_PER_EXECUTION,
                         help="training steps Keras runs per call into the backend "
                              "(speed only)")
    add_backend_flag(run)
    run.add_argument("--out", default=None, metavar="DIR",
                     help="output directory (default: a new directory under runs/)")
    if resumable:
        run.add_argument("--resume", metavar="DIR", default=None, type=resume_dir,
                         help="continue the interrupted run in DIR from its last finished "
                              "epoch, with the flags it was started with (default: a new "
                              "run)")
    if datasets:
        run.add_argument("--offline", action="store_true",
                         help="never try the network for data (also: RECIPES_OFFLINE=1)")
    if not computes_only:  # the lecture-math recipes print every step they compute
        run.add_argument("--verbose", action="store_true",
                         help="show Keras' progress bar (default: one line per epoch, or "
                              "every few epochs in long runs)"
                              + (" and where data comes from" if datasets else ""))
    return parser


def model_defaults(build_model) -> dict:
    """The keyword defaults of a recipe's ``build_model``. A recipe's flags for the same
    settings take their defaults from here, so the model cell is the one place where a
    default is written: change it there and the run changes."""
    import inspect

    return {name: parameter.default
            for name, parameter in inspect.signature(build_model).parameters.items()
            if parameter.default is not inspect.Parameter.empty}


def add_mlp_flags(parser, build_model) -> None:
    """--hidden and, where the model cell takes one, --learning-rate, for recipes built
    on the slides' MLP, with the defaults of ``build_model``: one width, or a tuple of
    widths (comma-separated on the command line)."""
    defaults = model_defaults(build_model)
    if isinstance(defaults["hidden"], (tuple, list)):
        widths = ",".join(str(width) for width in defaults["hidden"])
        parser.add_argument("--hidden", type=int_list, default=defaults["hidden"],
                            help=f"hidden layer widths, comma-separated (default: {widths})")
    else:
        parser.add_argument("--hidden", type=positive_int, default=defaults["hidden"],
                            help="units in the hidden layer")
    if "learning_rate" in defaults:
        parser.add_argument("--learning-rate", type=positive_float,
                            default=defaults["learning_rate"], help="Adam learning rate")


def number_rows(text: str) -> list[list[float]]:
    """'1.47,-0.39,0.22; 5,6,4' -> [[1.47, -0.39, 0.22], [5.0, 6.0, 4.0]]."""
    rows = []
    for part in text.split(";"):
        try:
            row = [float(value) for value in part.split(",")]
        except ValueError:
            row = []
        if not row or not all(math.isfinite(v) for v in row):
            raise argparse.ArgumentTypeError(
                f"must be comma-separated numbers, rows separated by ';' "
                f"(e.g. '1.47,-0.39,0.22'), got '{text}'")
        rows.append(row)
    return rows


def number_list(text: str) -> list[float]:
    """'3,-4,0,1' -> [3.0, -4.0, 0.0, 1.0]."""
    try:
        rows = number_rows(text) if ";" not in text else []
    except argparse.ArgumentTypeError:
        rows = []
    if len(rows) != 1:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated numbers such as '3,-4,0,1', got '{text}'")
    return rows[0]


class _Interruption:
    """Ctrl-C and SIGTERM: raise KeyboardInterrupt at once, or, while training runs
    (``training.fit``), set ``requested`` so that training stops cleanly at the next
    batch and the interruption is raised at the end of that epoch (``checkpoint``)
    or after ``fit`` has returned. Breaking into
    TensorFlow mid-step can crash the process on its way out."""

    def __init__(self):
        self.deferred = False
        self.requested = False

    def __call__(self, signum, frame):
        if self.deferred:
            self.requested = True
        else:
            raise KeyboardInterrupt

    def raise_if_requested(self):
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt

    def unraisable_hook(self, default_hook):
        """A ``sys.unraisablehook`` that keeps a lost interruption: a signal that lands
        while Python runs a ``__del__`` or a garbage-collector callback (TensorFlow's and
        JAX's have them) raises there, and Python swallows it, so a comparison ran to its
        end after SIGTERM. The request then takes effect when the next training block
        begins or ends (``interruption_after``)."""
        def hook(unraisable):
            if issubclass(unraisable.exc_type, KeyboardInterrupt):
                self.requested = True
            else:
                default_hook(unraisable)
        return hook


# The one handler of this process's SIGINT and SIGTERM (``console_main`` installs it).
# Other modules never read it: ``interruption_after`` hands it to the code that asks.
INTERRUPTION = _Interruption()


@contextlib.contextmanager
def interruption_after():
    """Ctrl-C or SIGTERM inside the block takes effect when it ends; the block gets the
    interruption (``requested``, ``raise_if_requested()``) to stop sooner where it can,
    as the training-state callback does at the next batch. Raised from inside
    TensorFlow's evaluation loop, Ctrl-C was lost once: a comparison on a busy machine
    took SIGINT during ``model.evaluate`` and ran to its end."""
    INTERRUPTION.raise_if_requested()  # one lost since the last block (unraisable_hook)
    # Outside a command (a Jupyter kernel, whose interrupt is SIGINT; an in-process
    # run), Python's own handler would break into TensorFlow mid-step and lose the
    # epochs since the last save: this block takes SIGINT for its length.
    took_sigint = threading.current_thread() is threading.main_thread() and \
        signal.getsignal(signal.SIGINT) is not INTERRUPTION
    if took_sigint:
        previous = signal.signal(signal.SIGINT, INTERRUPTION)
    INTERRUPTION.deferred = True
    try:
        yield INTERRUPTION
    finally:
        INTERRUPTION.deferred = False
        if took_sigint:  # None: a handler set outside Python, most likely the default
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
    INTERRUPTION.raise_if_requested()


# An OSError by errno: (what happened, what to do).
_OS_ERRORS = {
    errno.ENOSPC: ("no space left on the device", "free some space or pass --out on another disk"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or pass --out on another disk"),
    errno.EROFS: ("the file system is read-only", "pass --out on a writable disk"),
    errno.EACCES: ("permission denied", "pass --out in a directory you can write"),
    errno.EPERM: ("operation not permitted", "pass --out in a directory you can write"),
    errno.ENAMETOOLONG: ("the file name is too long", "choose a shorter --out"),
    errno.ENOTDIR: ("a part of the path is a file, not a directory", "choose another --out"),
    errno.EIO: ("input/output error", "check the disk or network drive, or pass --out elsewhere"),
}


def os_error_line(error: OSError) -> str:
    """One line for an OSError: what happened, to which file, and what to do."""
    what, fix = _OS_ERRORS.get(error.errno, (error.strerror or str(error),
                                             "check the path, or pass --out elsewhere"))
    where = f" ({error.filename})" if error.filename else ""
    return f"{what}{where}; {fix}; files already written are complete"


class _QuietOnBrokenPipe:
    """Standard output that, once it cannot be written (its reader has gone, as with
    ``| head``, or the file was closed), swallows the rest instead of failing: the run
    goes on to the end and writes all its files."""

    def __init__(self, stream):
        self._stream = stream
        self.broken = False

    def _guard(self, method, *args):
        if self.broken:
            return None
        try:
            return method(*args)
        except (BrokenPipeError, ValueError, OSError):  # ValueError: a closed file object
            self.broken = True
            # Point the file descriptor at /dev/null too, so that Python's final flush of
            # what is still buffered does not fail on the way out.
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._stream.fileno())
                os.close(devnull)
            return None

    def write(self, text):
        self._guard(self._stream.write, text)
        return len(text)

    def flush(self):
        self._guard(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _open_closed_standard_streams() -> None:
    """Point a closed standard stream (``>&-``) at /dev/null. Left closed, its file
    descriptor would be the next one a file opens, and TensorFlow's log lines, written to
    descriptor 2, would land in a run's own files; Python's ``sys.stdout`` would be None."""
    for fd, name, flags in ((0, "stdin", os.O_RDONLY), (1, "stdout", os.O_WRONLY),
                            (2, "stderr", os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, flags)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))


def _ignore_signals_while_exiting() -> None:
    """Run at exit: Python resets its handlers to the default before the interpreter has
    finished (Dask's and TensorFlow's threads and libraries shut down after that), so a
    SIGTERM in those last seconds killed a finished run with 143 and no word. Ignored
    signals stay ignored to the end; SIGKILL still ends a stuck exit."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def console_main(main, argv=None) -> int:
    """Run ``main(argv)`` as a command: exit 0, 2 for UsageError and any OS error, 130
    when interrupted. Every error is one line on stderr."""
    _open_closed_standard_streams()
    signal.signal(signal.SIGTERM, INTERRUPTION)
    signal.signal(signal.SIGINT, INTERRUPTION)
    sys.unraisablehook = INTERRUPTION.unraisable_hook(sys.__unraisablehook__)
    # TensorFlow's start-up notices (oneDNN, absl) would bury the recipe's own output and
    # turn a one-line error into five; its warnings and errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    stdout = sys.stdout
    sys.stdout = _QuietOnBrokenPipe(stdout)
    try:
        main(argv)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        print(f"error: {os_error_line(error)}", file=sys.stderr)
        return 2
    except Exception as error:
        # MemoryError from NumPy, ResourceExhaustedError from TensorFlow (named, so that
        # this module need not import TensorFlow): both mean the same to the user.
        if type(error).__name__ not in ("MemoryError", "ResourceExhaustedError"):
            raise
        print("error: out of memory; lower --batch-size or the network's size (--hidden, "
              "--widths: --help lists its flags), or use a smaller --dataset",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: stopped here; any file it had finished writing is kept, "
              "nothing half-written is left", file=sys.stderr)
        return 130
    finally:
        sys.stdout = stdout
        # The command is done: a signal now can only cut the exit short (Dask and
        # TensorFlow take a second or two to shut down); the exit ends quietly, with the
        # code returned here. Registered last, so it runs first at exit.
        atexit.unregister(_ignore_signals_while_exiting)
        atexit.register(_ignore_signals_while_exiting)
    return 0
