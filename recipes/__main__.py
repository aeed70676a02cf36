"""The one command line: ``python -m recipes COMMAND``.

    list                 every recipe in the lecture's order, with its slide topic,
                         datasets and description
    run NAME [flags]     run a recipe; the same as ``python -m recipes.NAME [flags]``
    show NAME            print the recipe's model cell, ready to paste into a notebook
    compare [flags]      every regularizer side by side over several seeds, with a report
    baselines check|record|show [--only NAME] [--dataset D]
                         re-run the recorded accuracy baselines (or record them)
    bench [flags]        training speed against plain Keras defaults

``python -m recipes run NAME --help`` lists a recipe's flags and their defaults.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import recipes
from common.cli import Parser, console_main
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


def baselines_main(argv) -> None:
    from common import baselines

    parser = Parser(prog="python -m recipes baselines",
                    description="Re-run the recorded accuracy baselines and compare, or "
                                "record them. check exits 1 on any regression.")
    parser.add_argument("action", choices=("check", "record", "show"),
                        help="check: re-run and compare; record: run and write; "
                             "show: print what is recorded")
    parser.add_argument("--only", type=lambda text: text.split(","), default=None,
                        metavar="NAME[,NAME]", help="only these recipes (default: all)")
    parser.add_argument("--dataset", choices=ALL_DATASETS, default=None,
                        help="only entries on this dataset (default: all)")
    parser.add_argument("--tier", choices=("fast", "full", "online", "all"), default="all",
                        help="record: fast (Iris, mnist-5k), full (Fashion-MNIST), "
                             "online (full MNIST)")
    args = parser.parse_args(argv)
    for name in args.only or []:
        recipes.recipe_path(name)  # an unknown name: one line listing the recipes
    if args.action == "show":
        code = baselines.show()
    elif args.action == "check":
        code = baselines.check(args.only, args.dataset)
    else:
        tiers = ("fast", "full", "online") if args.tier == "all" else (args.tier,)
        code = baselines.record(args.only, args.dataset, tiers)
    if code:
        raise SystemExit(code)


def usage() -> str:
    lines = ["usage: python -m recipes COMMAND [...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, text in COMMANDS.items()]
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
    name = rest[0]
    recipes.recipe_path(name)  # an unknown name fails here, before any import
    if command == "show":
        print(recipes.snippet(name), end="")
    else:
        importlib.import_module(f"recipes.{name}").main(rest[1:])


if __name__ == "__main__":
    raise SystemExit(console_main(main))
