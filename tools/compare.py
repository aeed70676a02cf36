"""The main job, ``python -m tools compare``: every regularizer of recipes/compare.py side
by side over paired seeds, seeds added in rounds until each verdict is decided, and a
report that tests the lecture's claims.

The lesson (recipes/compare.py) holds what a student reads and copies: the model cell,
the early-stopping callback, ``VARIANTS`` and the tuning ``GRID``; ``python -m recipes run
compare`` trains each variant once, on one seed. This tool trains every (variant, seed)
pair with those same cells (``comparison``), saving each finished run at once, so an
interrupted comparison keeps its work and ``--resume DIR`` continues it; ``report`` turns
the runs into report.html and report.md (docs/comparison.md explains how to read them).
"""

from __future__ import annotations

import ast
from types import SimpleNamespace

import recipes
from common import cli
from common.datasets import IMAGE_DATASETS
from tools import comparison, sweep


def lesson() -> SimpleNamespace:
    """What the comparison takes from the lesson: its cells to copy (``build_model``,
    ``early_stopping``, ``train``, ``evaluate``, ``VARIANTS``, ``GRID``), run from their
    text, and its settings (``epochs``, ``train_size``), read from its SETTINGS."""
    return SimpleNamespace(**recipes.cells("compare"), **recipes.settings("compare"),
                           doc=recipes.recipe_path("compare").read_text())


def parser(lesson: SimpleNamespace) -> cli.Parser:
    parser = cli.recipe_parser("compare", _docstring(lesson.doc), datasets=IMAGE_DATASETS,
                               default_dataset="auto", epochs=lesson.epochs)
    parser.prog = "python -m tools compare"
    parser.add_argument("--variants", type=cli.variant_list(lesson.VARIANTS),
                        default=list(lesson.VARIANTS),
                        help=f"comma-separated subset of: {','.join(lesson.VARIANTS)} "
                             "(default: all)")
    comparison.add_seed_flags(parser)
    parser.add_argument("--train-size", type=cli.positive_int, default=lesson.train_size,
                        help="training examples used (the rest of the split is left out "
                             "so the baseline overfits; see the lesson's introduction)")
    parser.add_argument("--patience", type=cli.non_negative_int, default=None,
                        help="early-stopping patience, in epochs, of the fixed variants "
                             "(default: theirs, 5)")
    comparison.add_tuning_flags(parser, lesson.GRID)
    parser.add_argument("--learning-rate", type=cli.positive_float,
                        default=cli.model_defaults(lesson.build_model)["learning_rate"],
                        help="Adam learning rate, for every variant")
    parser.add_argument("--tensorboard", action="store_true",
                        help="also write TensorBoard logs for every run")
    parser.add_argument("--resume", metavar="DIR", default=None, type=cli.resume_dir,
                        help="continue the interrupted comparison in DIR "
                             "(default: start a new one)")
    sweep.add_flags(parser)
    return parser


def _docstring(text: str) -> str:
    return ast.get_docstring(ast.parse(text)) or ""


def main(argv=None) -> dict:
    cells = lesson()
    args = parser(cells).parse_args(argv)
    return comparison.run(args, cells.VARIANTS, comparison.RecipeCells(
        cells.build_model, cells.train, cells.evaluate, cells.early_stopping), cells.GRID)


if __name__ == "__main__":
    raise SystemExit(cli.console_main(main))
