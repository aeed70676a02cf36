"""Validation-chosen strengths: the grid, the rule, the record, and that the test split
plays no part in the choice."""

import dataclasses
import html
import json
import shutil

import numpy as np
import pytest

from tools import comparison, tuning
from conftest import one_line_error
from tools import compare

lesson = compare.lesson()  # the compare lesson's cells and settings

# A small tuned comparison: three regularizers, two seeds, a grid where the slide's
# strength is not always the best.
SMALL = ["--quick", "--seeds", "2", "--dataset", "mnist-5k",
         "--variants", "baseline,l2,dropout,early_stopping",
         "--grid", "l2=1e-4,0.1", "--grid", "dropout=0.1,0.6", "--grid", "early_stopping=2"]
TUNED = ["l2_tuned", "dropout_tuned", "early_stopping_tuned"]


def test_choose_takes_the_highest_validation_accuracy_and_the_first_of_equals():
    assert tuning.choose([0.90, 0.93, 0.92]) == 1
    assert tuning.choose([0.93, 0.93, 0.92]) == 0
    assert tuning.choose([None, float("nan"), 0.5]) == 2  # diverged runs are never chosen
    assert tuning.choose([None, None]) == 0


def test_the_slides_strength_is_a_candidate_and_shares_the_fixed_variants_run():
    plan = tuning.plan(lesson.VARIANTS, {"l2": {"l2": [1e-2, 1e-4]}})
    assert plan["grid"] == {"l2": {"setting": "l2", "values": [1e-2, 1e-4, 1e-3]}}
    runs = tuning.candidates(lesson.VARIANTS, plan)["l2"]
    assert [name for name, _, _ in runs] == ["l2-0p01", "l2-0p0001", "l2"]
    assert runs[2][2] == lesson.VARIANTS["l2"]
    default = tuning.plan(lesson.VARIANTS, lesson.GRID)
    assert set(default["grid"]) == {"l1", "l2", "dropout", "early_stopping"}
    stopping = tuning.candidates(lesson.VARIANTS, default)["early_stopping"]
    assert [s["early_stopping"]["patience"] for _, _, s in stopping] == [2, 5, 10]
    assert [name for name, _, _ in stopping] == ["early_stopping-2", "early_stopping",
                                                 "early_stopping-10"]


def test_every_variant_and_candidate_pastes_as_a_build_model_call():
    config = {"variants": lesson.VARIANTS,
              "tuning": tuning.plan(lesson.VARIANTS, lesson.GRID)}
    everything = comparison.all_variants(config)
    assert len(everything) == len(lesson.VARIANTS) + 8
    for name, variant in everything.items():
        model = lesson.build_model(**variant["model"])
        assert model.count_params() == 266_610, name
        if variant.get("early_stopping"):
            assert lesson.early_stopping(**variant["early_stopping"]).patience == \
                variant["early_stopping"]["patience"]


@pytest.mark.parametrize("args, expected", [
    (["--grid", "l3=1e-4"], "write REGULARIZER=V1,V2,... with REGULARIZER one of l1, l2"),
    (["--grid", "dropout=0.2,1"], "dropout value '1': must be >= 0 and < 1"),
    (["--grid", "early_stopping=2.5"], "patience value '2.5' is not a whole number"),
    (["--grid", "l1=-1e-4"], "l1 value '-1e-4': must be >= 0"),
    (["--no-tune", "--grid", "l1=1e-5"], "--grid with --no-tune"),
])
def test_bad_grid_is_one_line(run_cli, args, expected):
    assert expected in one_line_error(run_cli("-m", "tools", "compare", *args))


def _scrambled_test_split(monkeypatch):
    """Every comparison from here on sees a different test split: labels shuffled."""
    real = comparison.load_dataset

    def load(*args, **kwargs):
        data = real(*args, **kwargs)
        labels = np.random.default_rng(123).permutation(data.y_test)
        return dataclasses.replace(data, y_test=labels)

    monkeypatch.setattr(comparison, "load_dataset", load)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("tuned") / "report"
    return out, compare.main([*SMALL, "--out", str(out)])


def test_every_seeds_choice_is_recorded_with_the_grid_and_the_rule(small):
    out, results = small
    assert set(results["chosen"]) == set(TUNED)
    for name in TUNED:
        assert set(results["chosen"][name]) == {"0", "1"}
    assert results["config"]["tuning"]["rule"] == tuning.RULE
    assert results["config"]["tuning"]["grid"]["l2"] == {"setting": "l2",
                                                          "values": [1e-4, 0.1, 1e-3]}
    saved = json.loads((out / "runs" / "l2_tuned-seed0.json").read_text())
    assert saved["chosen"] == results["chosen"]["l2_tuned"]["0"]
    assert [c["l2"] for c in saved["candidates"]] == [1e-4, 0.1, 1e-3]
    # An L2 factor of 0.1 on every kernel is far too strong: never the validation's pick.
    assert all(chosen["l2"] != 0.1 for chosen in results["chosen"]["l2_tuned"].values())
    assert not list((out / "runs").glob("*.npz")), "candidates' weights removed once used"


def test_candidates_never_read_the_test_split(small):
    _, results = small
    compared = set(lesson.VARIANTS) | set(TUNED)
    candidates = [r for r in results["rows"] if r["variant"] not in compared]
    assert len(candidates) == 2 * 5
    assert all(r["test_accuracy"] is None and r["val_accuracy"] is not None
               for r in candidates)


def test_a_different_test_split_changes_no_choice(small, tmp_path, monkeypatch):
    _, results = small
    _scrambled_test_split(monkeypatch)
    scrambled = compare.main([*SMALL, "--out", str(tmp_path / "scrambled")])
    assert scrambled["chosen"] == results["chosen"]
    tuned_test = lambda r: {(row["variant"], row["seed"]): row["test_accuracy"]  # noqa: E731
                            for row in r["rows"] if row["variant"] in TUNED}
    before, after = tuned_test(results), tuned_test(scrambled)
    assert all(after[key] < before[key] - 0.3 for key in before), (before, after)


def test_the_report_gives_a_test_accuracy_verdict_for_fixed_and_chosen(small):
    out, results = small
    verdicts = {(v["regularizer"], v["strength"]): v for v in results["test_verdicts"]}
    for regularizer in ("l2", "dropout", "early_stopping"):
        for strength in ("fixed (the slide's)", "validation-chosen"):
            assert verdicts[(regularizer, strength)]["verdict"] in (
                "helps", "costs accuracy", "no clear difference")
    text = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for output in (text, html.unescape(page)):
        assert "## Test accuracy: the slide's strength" in text
        assert results["verdict"] in output
        assert "l2: l2 in 0.0001, 0.1, 0.001" in output
    # Each regularizer's fixed row, then its validation-chosen one.
    assert [v["variant"] for v in results["test_verdicts"]] == [
        "l2", "l2_tuned", "dropout", "dropout_tuned", "early_stopping", "early_stopping_tuned"]
    assert results["verdict"].startswith("At the slide's fixed strengths, ")
    # The slide's claims are about its strengths: the tuned variants are not among them.
    gap = next(c for c in results["claims"] if "narrows the gap" in c["claim"])
    assert "_tuned" not in gap["evidence"] and "dropout" in gap["evidence"]
    assert "at validation-chosen strengths, " in results["verdict"]
    assert "--grid l2=0.0001,0.1,0.001" in text


def test_a_lost_choice_is_made_again_the_same_way(small, tmp_path, capsys):
    out, results = small
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "runs" / "dropout_tuned-seed1.json").unlink()
    again = compare.main(["--resume", str(copy)])
    printed = capsys.readouterr().out
    # The candidates' weights were removed after the first choice: they train again.
    assert "dropout-0p1 seed 1: validation" in printed
    assert "dropout seed 1: finished earlier, kept" in printed
    assert again["chosen"] == results["chosen"]
    same = lambda r: [row for row in r["rows"] if row["variant"] == "dropout_tuned"]  # noqa
    assert [row["test_accuracy"] for row in same(again)] == \
        [row["test_accuracy"] for row in same(results)]


def test_no_tune_trains_only_the_fixed_variants(tmp_path):
    results = compare.main(["--quick", "--seeds", "1", "--dataset", "mnist-5k", "--no-tune",
                            "--variants", "baseline,l1", "--out", str(tmp_path / "fixed")])
    assert [r["variant"] for r in results["rows"]] == ["baseline", "l1"]
    assert results["config"]["tuning"] is None and results["chosen"] == {}
    text = (tmp_path / "fixed" / "report.md").read_text()
    assert "not computed (--no-tune)" in text and "--no-tune" in text.split("## Reproduce")[1]
