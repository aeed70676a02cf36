"""The tools' command line: ``python -m tools COMMAND``.

    baselines check|record|show|agree [--only NAME] [--dataset D] [--seeds S,S]
                         re-run the recorded accuracy baselines (or record them, or
                         see whether the backends' recorded means agree)
    baselines check --results FILE_OR_DIR... | --recipe-file PATH
                         compare students' results files, or a student's recipe,
                         with the recorded baselines
    grade EXERCISE [FILE]
                         check your solution to an exercise (grade list: all)

They are built on the recipes, whose own commands (list, run, show, compare) are
``python -m recipes``; the training-speed benchmark is ``python -m benchmarks.bench``.
"""

from __future__ import annotations


from common.cli import command_and_rest, console_main
from common.errors import UsageError
from tools import baselines, grading

COMMANDS = {
    "baselines": ("check, record or show the accuracy baselines (baselines --help)",
                  baselines.main),
    "grade": ("check your solution to an exercise: grade EXERCISE [FILE] (grade list: all)",
              grading.main),
}


def usage() -> str:
    lines = ["usage: python -m tools COMMAND [...]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (text, _) in COMMANDS.items()]
    lines += ["", "The recipes' own commands: python -m recipes --help"]
    return "\n".join(lines)


def main(argv=None) -> None:
    command, rest = command_and_rest(argv, usage())
    if command is None:
        return
    if command not in COMMANDS:
        raise UsageError(f"unknown command '{command}'; choose from: {', '.join(COMMANDS)} "
                         "(the recipes' commands: python -m recipes --help)")
    COMMANDS[command][1](rest)


if __name__ == "__main__":
    raise SystemExit(console_main(main))
