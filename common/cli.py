"""The flags every recipe shares, their validation, and the process wrapper.

Argument errors raise UsageError, so a recipe's ``main(argv)`` can be called from tests
and other code; ``console_main`` turns them into one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import signal
import sys

from common.errors import UsageError

# The training path's speed settings (see README, "Performance"); flags override them.
DEFAULT_BATCH_SIZE = 128
LARGE_BATCH_SIZE = 512
LARGE_DATA_EXAMPLES = 20_000
DEFAULT_STEPS_PER_EXECUTION = 32

QUICK_TRAIN_EXAMPLES = 2048
QUICK_VAL_EXAMPLES = 512
QUICK_EPOCHS = 2
SENSIBLE_EPOCHS = 500
SENSIBLE_SEEDS = 20


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Ends every help line with its default, unless the help states it already."""

    def _get_help_string(self, action):
        if "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one actionable line (a UsageError)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        if "expected one argument" in message:
            message += " (a value that starts with '-' needs '=', as in --logits=-2,2,-3)"
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _number(text, kind, valid, requirement):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got '{text}'")
    if isinstance(value, float) and not math.isfinite(value) or not valid(value):
        raise argparse.ArgumentTypeError(f"must be {requirement}, got '{text}'")
    return value


def positive_int(text):
    return _number(text, int, lambda v: v > 0, "a whole number > 0")


def non_negative_int(text):
    return _number(text, int, lambda v: v >= 0, "a whole number >= 0")


def non_negative_float(text):
    return _number(text, float, lambda v: v >= 0, "a number >= 0")


def positive_float(text):
    return _number(text, float, lambda v: v > 0, "a number > 0")


def finite_float(text):
    return _number(text, float, lambda v: True, "a finite number")


def rate(text):
    return _number(text, float, lambda v: 0 <= v < 1, "a rate in [0, 1)")


def int_list(text):
    """'300,100' -> (300, 100): layer widths."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated whole numbers > 0 such as '300,100', got '{text}'")
    return values


def header_fields(docstring: str) -> dict:
    """The 'Field: value' lines that open a recipe's docstring, keys lower-cased."""
    fields = {}
    for line in (docstring or "").strip().splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def default_batch_size(n_train: int) -> int:
    """128 examples per step; 512 on full-size data, where a step's fixed cost (the
    optimizer's update, dropout's random numbers, one call into TensorFlow) dominates:
    1.5-2x faster per epoch there, as accurate after the same epochs."""
    return LARGE_BATCH_SIZE if n_train >= LARGE_DATA_EXAMPLES else DEFAULT_BATCH_SIZE


def recipe_parser(name: str, docstring: str, *, datasets=None, default_dataset=None,
                  epochs: int | None = None, batch_size: int | None = None,
                  resumable: bool = False) -> Parser:
    """A parser with the shared flags; the recipe adds its own hyperparameters.

    Recipes that read a dataset get ``--dataset`` and ``--offline``; recipes that train
    get ``--epochs``, ``--batch-size``, ``--steps-per-execution`` and ``--quick``.
    ``batch_size=None`` leaves ``args.batch_size`` None until the data is loaded, when
    ``default_batch_size`` picks it from the number of training examples.
    """
    header = header_fields(docstring)
    parser = Parser(prog=f"python -m recipes.{name}",
                    description=f"{header.get('title', name)}. {header.get('description', '')}",
                    epilog=f"Slide topic: {header.get('slide topic', '-')}")
    if datasets:
        parser.add_argument("--dataset", choices=datasets, default=default_dataset,
                            help="dataset to train on")
    if epochs:
        parser.add_argument("--epochs", type=positive_int, default=epochs,
                            help="maximum number of training epochs")
        parser.add_argument("--batch-size", type=positive_int, default=batch_size,
                            help="examples per gradient step (default: "
                                 + (f"{batch_size})" if batch_size else
                                    f"{DEFAULT_BATCH_SIZE}, or {LARGE_BATCH_SIZE} from "
                                    f"{LARGE_DATA_EXAMPLES:,} training examples on)"))
        parser.add_argument("--steps-per-execution", type=positive_int,
                            default=DEFAULT_STEPS_PER_EXECUTION,
                            help="training steps Keras runs per call into TensorFlow "
                                 "(speed only)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="random seed for weights, shuffling and dropout")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output directory (default: a new directory under runs/)")
    if epochs:
        parser.add_argument("--quick", action="store_true",
                            help=f"a run of seconds: at most {QUICK_EPOCHS} epochs on "
                                 f"{QUICK_TRAIN_EXAMPLES} training examples (for tests and CI)")
    if resumable:
        parser.add_argument("--resume", metavar="DIR", default=None,
                            help="continue the interrupted run in DIR from its last finished "
                                 "epoch, with the flags it was started with (default: a new "
                                 "run)")
    if datasets:
        parser.add_argument("--offline", action="store_true",
                            help="never try the network for data (also: RECIPES_OFFLINE=1)")
    parser.add_argument("--verbose", action="store_true",
                        help="show Keras' progress bar and where data comes from")
    return parser


def add_mlp_flags(parser, hidden=(300, 100), learning_rate=1e-3) -> None:
    """--hidden and --learning-rate, for recipes built on the slides' MLP."""
    parser.add_argument("--hidden", type=int_list, default=hidden,
                        help="hidden layer widths, comma-separated")
    parser.add_argument("--learning-rate", type=positive_float, default=learning_rate,
                        help="Adam learning rate")


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
    rows = number_rows(text) if ";" not in text else []
    if len(rows) != 1:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated numbers such as '3,-4,0,1', got '{text}'")
    return rows[0]


def parse_recipe_args(parser: Parser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if getattr(args, "quick", False):
        args.epochs = min(args.epochs, QUICK_EPOCHS)
    if getattr(args, "epochs", 0) > SENSIBLE_EPOCHS:
        print(f"warning: {args.epochs} epochs is far more than these datasets need; "
              "early stopping or fewer epochs will give the same accuracy sooner",
              file=sys.stderr)
    return args


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


INTERRUPTION = _Interruption()


def console_main(main, argv=None) -> int:
    """Run ``main(argv)`` as a command: exit 0, 2 for UsageError, 130 when interrupted."""
    signal.signal(signal.SIGTERM, INTERRUPTION)
    signal.signal(signal.SIGINT, INTERRUPTION)
    try:
        main(argv)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        print(f"error: no space left on the device ({error.filename or 'writing output'}); "
              "free some space or pass --out on another disk; files already written are "
              "complete", file=sys.stderr)
        return 2
    except Exception as error:
        # MemoryError from NumPy, ResourceExhaustedError from TensorFlow (named, so that
        # this module need not import TensorFlow): both mean the same to the user.
        if type(error).__name__ not in ("MemoryError", "ResourceExhaustedError"):
            raise
        print("error: out of memory; lower --batch-size or use a smaller --dataset",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: outputs already written were kept", file=sys.stderr)
        return 130
    return 0
