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

from common import cli
from common.datasets import IMAGE_DATASETS
from recipes import compare as lesson
from tools import comparison, sweep


def parser() -> cli.Parser:
    parser = cli.recipe_parser("compare", lesson.__doc__, datasets=IMAGE_DATASETS,
                               default_dataset="auto", epochs=lesson.EPOCHS)
    parser.prog = "python -m tools compare"
    parser.add_argument("--variants", type=cli.variant_list(lesson.VARIANTS),
                        default=list(lesson.VARIANTS),
                        help=f"comma-separated subset of: {','.join(lesson.VARIANTS)} "
                             "(default: all)")
    comparison.add_seed_flags(parser)
    parser.add_argument("--train-size", type=cli.positive_int, default=lesson.TRAIN_SIZE,
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
    parser.add_argument("--resume", metavar="DIR", default=None,
                        help="continue the interrupted comparison in DIR "
                             "(default: start a new one)")
    sweep.add_flags(parser)
    return parser


def main(argv=None) -> dict:
    args = parser().parse_args(argv)
    cells = comparison.RecipeCells(lesson.build_model, lesson.train, lesson.evaluate,
                                   lesson.early_stopping)
    return comparison.run(args, lesson.VARIANTS, cells, lesson.GRID)


if __name__ == "__main__":
    raise SystemExit(cli.console_main(main))
