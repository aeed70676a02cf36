"""The one command line: ``python -m recipes COMMAND``.

    list                 every recipe in the lecture's order, with its slide topic,
                         datasets and description
    run NAME [flags]     run a recipe; the same as ``python -m recipes.NAME [flags]``
    show NAME            print the recipe's cells to copy (for a training recipe: data,
                         model, training, evaluation, the variants the slide compares,
                         and the lines that call them)

``python -m recipes run NAME --help`` lists a recipe's flags and their defaults. The
tools built on the recipes have their own command lines, above this package: the main
job ``python -m tools compare``, ``python -m tools baselines ...`` and ``python -m tools
grade ...`` (tools/__main__.py), ``python -m benchmarks.bench``.
"""

from __future__ import annotations

import shlex
import textwrap

import recipes
from common.cli import command_and_rest, console_main
from common.errors import UsageError

COMMANDS = {
    "list": "every recipe in the lecture's order, with its slide topic, datasets and "
            "description",
    "run": "run a recipe: run NAME [flags] (flags: run NAME --help)",
    "show": "print a recipe's cells to copy, ready to paste into a notebook (a training "
            "recipe's train a model, or each variant it compares, end to end)",
}
# Tools built on the recipes, with command lines of their own: a command that names one
# gets the command to run instead.
TOOLS = {
    "compare": "python -m tools compare",
    "baselines": "python -m tools baselines",
    "grade": "python -m tools grade",
    "bench": "python -m benchmarks.bench",
}


def usage() -> str:
    lines = ["usage: python -m recipes COMMAND [...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, text in COMMANDS.items()]
    lines += ["", "tools built on the recipes:"]
    lines += [f"  {command}" for command in TOOLS.values()]
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
    command, rest = command_and_rest(argv, usage())
    if command is None:
        return
    if command in TOOLS:
        raise UsageError(f"'{command}' is a tool built on the recipes: run "
                         + shlex.join([*TOOLS[command].split(), *rest]))
    if command not in COMMANDS:
        raise UsageError(f"unknown command '{command}'; choose from: {', '.join(COMMANDS)}")
    if command == "list":
        list_recipes()
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
        recipes.run(name, rest[1:])


if __name__ == "__main__":
    raise SystemExit(console_main(main))
