"""The tools' command line: ``python -m tools COMMAND``.

    compare [flags]      the main job: every regularizer side by side over paired seeds,
                         added until each verdict is decided, with a report
    baselines check|record|show|agree [--only NAME] [--dataset D] [--seeds S,S]
                         re-run the recorded accuracy baselines (or record them, or
                         see whether the backends' recorded means agree)
    baselines check --results FILE_OR_DIR... | --recipe-file PATH
                         compare students' results files, or a student's recipe,
                         with the recorded baselines
    grade EXERCISE [FILE]
                         check your solution to an exercise (grade list: all)
    lecture-map [--check]
                         write README.md's lecture map from the recipes' headers

They are built on the recipes, whose own commands (list, run, show) are
``python -m recipes``; the training-speed benchmark is ``python -m benchmarks.bench``.
"""

from __future__ import annotations

import importlib

from common.cli import command_and_rest, console_main
from common.errors import UsageError

# Each command's module is imported when it runs: --help reads no recipe and no TensorFlow.
COMMANDS = {
    "compare": ("the main job: every regularizer side by side over paired seeds, with a "
                "report (compare --help)", "tools.compare"),
    "baselines": ("check, record or show the accuracy baselines (baselines --help)",
                  "tools.baselines"),
    "grade": ("check your solution to an exercise: grade EXERCISE [FILE] (grade list: all)",
              "tools.grading"),
    "lecture-map": ("write README.md's lecture map from the recipes' headers (--check: "
                    "only compare)", "tools.lecture_map"),
}


def usage() -> str:
    lines = ["usage: python -m tools COMMAND [...]", "", "commands:"]
    width = max(map(len, COMMANDS))
    lines += [f"  {name:<{width}} {text}" for name, (text, _) in COMMANDS.items()]
    lines += ["", "The recipes' own commands: python -m recipes --help"]
    return "\n".join(lines)


def main(argv=None) -> None:
    command, rest = command_and_rest(argv, usage())
    if command is None:
        return
    if command not in COMMANDS:
        raise UsageError(f"unknown command '{command}'; choose from: {', '.join(COMMANDS)} "
                         "(the recipes' commands: python -m recipes --help)")
    importlib.import_module(COMMANDS[command][1]).main(rest)


if __name__ == "__main__":
    raise SystemExit(console_main(main))
