"""The one command line: ``python -m recipes COMMAND``.

    list                 every recipe in the lecture's order, with its slide topic,
                         datasets and description
    run NAME [flags]     run a recipe; the same as ``python -m recipes.NAME [flags]``
    show NAME            print the recipe's model cell, ready to paste into a notebook
    compare [flags]      every regularizer side by side over several seeds, with a report
    baselines check|record|show|agree [--only NAME] [--dataset D] [--seeds S,S]
                         re-run the recorded accuracy baselines (or record them, or
                         see whether the backends' recorded means agree)
    baselines check --results FILE_OR_DIR... | --recipe-file PATH
                         compare students' results files, or a student's recipe,
                         with the recorded baselines
    bench [flags]        training speed against plain Keras defaults

``python -m recipes run NAME --help`` lists a recipe's flags and their defaults.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import recipes
from common.cli import Parser, add_backend_flag, console_main
from common.datasets import ALL_DATASETS
from common.errors import UsageError

COMMANDS = {
    "list": "every recipe in the lecture's order, with its slide topic, datasets and "
            "description",
    "run": "run a recipe: run NAME [flags] (flags: run NAME --help)",
    "show": "print a recipe's model cell, ready to paste into a notebook",
    "compare": "every regularizer side by side over several seeds, with a report "
               "(flags: compare --help)",
    "baselines": "check, record or show the accuracy baselines (baselines --help)",
    "bench": "training speed against plain Keras defaults (benchmarks/bench.py)",
    "grade": "check your solution to an exercise: grade EXERCISE [FILE] (grade list: all)",
}


def _seed_list(text):
    """'0,2' -> [0, 2]: seeds for baselines check --seeds."""
    import argparse

    from common import cli

    try:
        seeds = [cli.seed(part.strip()) for part in text.split(",") if part.strip()]
    except argparse.ArgumentTypeError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(f"must be comma-separated seeds such as '0,1', "
                                         f"got '{text}'")
    return list(dict.fromkeys(seeds))


def baselines_main(argv) -> None:
    from common import baselines, sweep

    parser = Parser(prog="python -m recipes baselines",
                    description="Re-run the recorded accuracy baselines and compare, or "
                                "record them; or compare students' results files, or a "
                                "student's copy of a recipe, with them. check exits 1 on any "
                                "regression, 2 on a file it cannot use.")
    parser.add_argument("action", choices=("check", "record", "show", "agree"),
                        help="check: re-run and compare; record: run and write; "
                             "show: print what is recorded; agree: do the backends' "
                             "recorded means agree within tolerance")
    parser.add_argument("--only", type=lambda text: text.split(","), default=None,
                        metavar="NAME[,NAME]", help="only these recipes (default: all)")
    parser.add_argument("--dataset", choices=ALL_DATASETS, default=None,
                        help="only entries on this dataset (default: all)")
    parser.add_argument("--tier", choices=("fast", "full", "online", "all"), default="all",
                        help="record: fast (Iris, mnist-5k), full (Fashion-MNIST), "
                             "online (full MNIST)")
    parser.add_argument("--results", nargs="+", default=None, metavar="FILE_OR_DIR",
                        help="check: compare these results.json files (a recipe's run or a "
                             "comparison; a directory: every results.json below it) with the "
                             "recorded baseline of the same recipe, dataset and flags, without "
                             "training (default: re-run the recipes)")
    parser.add_argument("--csv", default=None, metavar="FILE",
                        help="check --results: also write one row per file and variant "
                             "(student, verdict, reason, ...) to this CSV file, for a grade "
                             "book")
    parser.add_argument("--recipe-file", default=None, metavar="PATH",
                        help="check: run this edited copy of a recipe (named by --only NAME, "
                             "or by its file name) with the recorded flags and seeds "
                             "(default: the project's recipe)")
    parser.add_argument("--seeds", type=_seed_list, default=None, metavar="S[,S]",
                        help="check: only these of the recorded seeds (default: all)")
    add_backend_flag(parser)  # the recipes then train on it, in this process
    sweep.add_flags(parser)  # seeds, or a comparison's cells, through Dask
    args = parser.parse_args(argv)
    sweep_flags = sweep.argv(args.workers, args.scheduler)
    if sweep_flags and (args.recipe_file or args.results or args.action in ("show",
                                                                            "agree")):
        raise UsageError(f"{sweep_flags[0]} goes with baselines check or record of the "
                         "project's recipes; --recipe-file, --results and show run here")
    for name in args.only or []:
        recipes.recipe_path(name)  # an unknown name: one line listing the recipes
    check_only = [flag for flag, value in (("--results", args.results),
                                           ("--recipe-file", args.recipe_file),
                                           ("--seeds", args.seeds),
                                           ("--csv", args.csv)) if value]
    if args.action != "check" and check_only:
        raise UsageError(f"{check_only[0]} goes with baselines check, not {args.action}")
    if args.results and (args.recipe_file or args.seeds or args.only or args.dataset):
        raise UsageError("--results compares the files as they are (their recipe, dataset "
                         "and seeds): give it without --recipe-file, --seeds, --only or "
                         "--dataset")
    if args.csv and not args.results:
        raise UsageError("--csv writes the rows of baselines check --results; give --results "
                         "FILE_OR_DIR too")
    if args.action == "show":
        code = baselines.show()
    elif args.action == "agree":
        code = baselines.agree()
    elif args.action == "check" and args.results:
        code = baselines.check_results(args.results, csv_file=args.csv)
    elif args.action == "check":
        code = baselines.check(args.only, args.dataset, seeds=args.seeds,
                               recipe_file=args.recipe_file, workers=args.workers,
                               scheduler=args.scheduler)
    else:
        tiers = ("fast", "full", "online") if args.tier == "all" else (args.tier,)
        code = baselines.record(args.only, args.dataset, tiers, workers=args.workers,
                                scheduler=args.scheduler)
    if code:
        raise SystemExit(code)


def usage() -> str:
    lines = ["usage: python -m recipes COMMAND [...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, text in COMMANDS.items()]
    return "\n".join(lines)


def command_help(command: str) -> str:
    """``run --help`` and ``show --help``: what the command takes, and the recipes."""
    lines = [f"usage: python -m recipes {command} NAME" + (" [flags]" if command == "run"
                                                           else ""), "",
             COMMANDS[command], "", "recipes (python -m recipes list describes them):"]
    lines += textwrap.wrap(", ".join(recipes.recipe_names()), width=88,
                           initial_indent="  ", subsequent_indent="  ")
    if command == "run":
        lines += ["", "python -m recipes run NAME --help lists a recipe's flags and their "
                      "defaults."]
    return "\n".join(lines)


def list_recipes() -> None:
    for name in recipes.recipe_names():
        info = recipes.recipe_info(name)
        print(name)
        for field in ("slide topic", "dataset", "description"):
            text = textwrap.fill(info.get(field, "-"), width=88,
                                 initial_indent=f"    {field + ':':<13}",
                                 subsequent_indent=" " * 17)
            print(text)


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        raise UsageError(f"unknown command '{command}'; choose from: {', '.join(COMMANDS)}")
    if command == "list":
        list_recipes()
        return
    if command == "compare":
        importlib.import_module("recipes.compare").main(rest)
        return
    if command == "baselines":
        baselines_main(rest)
        return
    if command == "bench":
        importlib.import_module("benchmarks.bench").main(rest)
        return
    if command == "grade":
        importlib.import_module("common.grading").main(rest)
        return
    if not rest:
        raise UsageError(f"'{command}' needs a recipe name; choose from: "
                         f"{', '.join(recipes.recipe_names())}")
    if rest[0] in ("-h", "--help"):
        print(command_help(command))
        return
    name = rest[0]
    recipes.recipe_path(name)  # an unknown name fails here, before any import
    if command == "show":
        print(recipes.snippet(name), end="")
    else:
        importlib.import_module(f"recipes.{name}").main(rest[1:])


if __name__ == "__main__":
    raise SystemExit(console_main(main))
