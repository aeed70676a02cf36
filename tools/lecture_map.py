"""The README's lecture map, made from the recipes' headers: ``python -m tools lecture-map``.

One row per recipe, in the lecture's order: its slide topic, the recipe, its notebook, the
exercises that practise it (header ``Exercises:``) and the tests that check it (header
``Tests:``). The command writes the table between the README's two ``lecture map``
markers; ``--check`` only says whether the README's table is the one the headers make
(exit 1 when not), as the tests do. A new recipe's row comes from its own file.
"""

from __future__ import annotations

from pathlib import Path

import exercises
import recipes
from common import runs
from common.cli import Parser
from common.errors import UsageError

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- lecture map: made by python -m tools lecture-map from the recipes' headers -->"
END = "<!-- end of lecture map -->"


def _names(field: str | None) -> list[str]:
    return [part.strip() for part in (field or "").split(",") if part.strip()]


def table() -> str:
    """The lecture map as a Markdown table. A header that names an exercise or a test file
    that does not exist is refused in one line."""
    known = set(exercises.exercise_names())
    root = README.parent
    lines = ["| slide topic | recipe | notebook | exercise | tests |", "|---|---|---|---|---|"]
    for name in recipes.recipe_names():
        info = recipes.recipe_info(name)
        linked = []
        for exercise in _names(info.get("exercises")):
            if exercise not in known:
                raise UsageError(f"recipes/{name}.py: 'Exercises: {info['exercises']}': no "
                                 f"exercise '{exercise}' (python -m tools grade list)")
            stub = exercises.stub_path(exercise).relative_to(root)
            linked.append(f"[`{exercise}`]({stub.as_posix()})")
        tests = _names(info.get("tests"))
        for test in tests:
            if not (root / test).is_file():
                raise UsageError(f"recipes/{name}.py: 'Tests: {info['tests']}': no file {test}")
        topic = info["slide topic"].replace("|", "\\|")
        lines.append(f"| {topic} | [`{name}`](recipes/{name}.py) | "
                     f"[notebook](notebooks/{name}.ipynb) | {', '.join(linked) or '-'} | "
                     f"{', '.join(tests) or '-'} |")
    return "\n".join(lines)


def _split(text: str) -> tuple[str, str, str]:
    """The README's text before, inside and after the markers."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise UsageError(f"{README}: the lecture map needs its two marker lines, once each "
                         f"and in this order: {START} ... {END}")
    before, rest = text.split(START)
    inside, after = rest.split(END)
    return before, inside, after


def main(argv=None) -> None:
    parser = Parser(prog="python -m tools lecture-map", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only say whether README.md's map is current (exit 1 when not)")
    args = parser.parse_args(argv)
    text = README.read_text()
    before, inside, after = _split(text)
    made = table()
    if inside.strip() == made:
        print(f"{README.name}: the lecture map is current")
        return
    if args.check:
        print(f"{README.name}: the lecture map differs from the recipes' headers; "
              "write it with: python -m tools lecture-map")
        raise SystemExit(1)
    runs.atomic_write(README, lambda tmp: tmp.write_text(f"{before}{START}\n{made}\n{END}{after}"))
    print(f"{README.name}: lecture map written ({len(recipes.recipe_names())} recipes)")


if __name__ == "__main__":
    from common.cli import console_main

    raise SystemExit(console_main(main))
