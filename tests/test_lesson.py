"""A recipe written as a lesson (common/lesson.py): cells at module level, SETTINGS at the
top, one plumbing call. Every recipe is written so."""

import json
import re
import sys

import pytest

import recipes
from common import lesson, notebook
from common.errors import UsageError
from conftest import ROOT, one_line_error

LESSONS = [name for name in recipes.recipe_names() if recipes.is_lesson(name)]


def test_every_recipe_is_a_lesson_and_runs_at_module_level():
    assert LESSONS == recipes.recipe_names()
    for name in LESSONS:
        text = recipes.recipe_path(name).read_text()
        assert "def main(" not in text, name
        assert re.search(r"\nresults = run\.finish(_training)?\(", text), name
        assert text.index("SETTINGS = {") < text.index("lesson.start("), name


@pytest.mark.parametrize("recipe, argv, expected", [
    ("neuron", ["--weights", "1,2"], "--weights: need one weight per input (3), got 2"),
    ("neuron", ["--activation", "gelu"], "invalid choice: 'gelu'"),
    ("neuron", ["--bias", "nan"], "--bias"),
    ("neuron", ["--inputs", "abc"], "--inputs: must be comma-separated numbers such as "
                                    "'3,-4,0,1', got 'abc'"),
    ("cross_entropy", ["--probs", "-0.1,1.1"], "needs '=', as in --probs=-2,2,-3"),
    ("cross_entropy", ["--probs", "1", "--label", "0"], "at least 2 classes"),
    ("norms_penalties", ["--alpha", "1e39"], "--alpha: at most 1e6, got 1e+39"),
])
def test_a_lessons_bad_flag_is_one_line_and_writes_nothing(run_cli, tmp_path, recipe, argv,
                                                            expected):
    line = one_line_error(run_cli("-m", f"recipes.{recipe}", *argv, "--out",
                                  str(tmp_path / "run")))
    assert expected in line
    assert not (tmp_path / "run").exists()


def test_a_full_out_folder_is_refused_without_offering_a_resume_it_has_not(run_cli,
                                                                          tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    line = one_line_error(run_cli("-m", "recipes.softmax", "--out", str(tmp_path / "full")))
    assert line.endswith("is not empty (notes.txt); give a new or empty directory")


@pytest.mark.parametrize("recipe, written, edited, said", [
    ("mnist_dropout", '"dropout": 0.2,', '"dropout": 1.5,',
     "SETTINGS['dropout'] = 1.5: must be a rate in (0, 1)"),
    ("iris_softmax", '"hidden": 16,', '"hidden": 0,', "SETTINGS['hidden'] = 0: must be a whole"),
    ("mnist_early_stopping", '"monitor": "auto",', '"monitor": "val_f1",',
     "SETTINGS['monitor'] = 'val_f1': choose from auto, val_loss"),
])
def test_a_bad_value_in_settings_is_one_line_before_anything_runs(recipe, written, edited,
                                                                  said, run_cli, tmp_path):
    """Found by a student's try: a rate of 1.5 typed into SETTINGS ran until Keras
    raised a traceback, where the same value as a flag is refused in one line."""
    source = recipes.recipe_path(recipe).read_text()
    assert written in source
    copy = tmp_path / f"{recipe}.py"
    copy.write_text(source.replace(written, edited, 1))
    line = one_line_error(run_cli(str(copy), "--quick", "--out", str(tmp_path / "run")))
    assert said in line and "change it at the top of the lesson" in line
    assert not (tmp_path / "run").exists()


def test_a_setting_edited_to_one_row_still_runs(run_cli, tmp_path):
    source = recipes.recipe_path("softmax").read_text()
    edited = source.replace(
        '"logits": [[1.47, -0.39, 0.22], [5.0, 6.0, 4.0], [0.9, 0.8, 1.1], [-2.0, 2.0, -3.0]],',
        '"logits": [2.0, 1.0, 0.1],')
    assert edited != source
    copy = tmp_path / "softmax.py"
    copy.write_text(edited)
    done = run_cli(str(copy), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["source"] == "user" and results["rows"][0]["z"] == [2.0, 1.0, 0.1]


def test_a_lesson_run_from_the_terminal_writes_its_results(run_cli, tmp_path):
    done = run_cli(str(ROOT / "recipes" / "neuron.py"), "--inputs", "1,2", "--weights",
                   "0.5,-1", "--bias", "0.5", "--activation", "linear", "--out",
                   str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert "a = linear(z) = -1" in done.stdout
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["recipe"] == "neuron" and results["a"] == pytest.approx(-1.0)
    assert results["settings"] == {"inputs": [1.0, 2.0], "weights": [0.5, -1.0],
                                   "bias": 0.5, "activation": "linear"}


def test_importing_a_lesson_is_refused_naming_what_to_call():
    import importlib

    sys.modules.pop("recipes.neuron", None)
    with pytest.raises(UsageError, match=r"recipes\.run\('neuron', flags\).*recipes\.cells"):
        importlib.import_module("recipes.neuron")
    assert "dense_unit" in recipes.cells("neuron")  # its cells to copy, without a run


def test_the_flags_are_made_from_settings_with_their_comments(run_cli, tmp_path):
    """Edit SETTINGS and the run, --help and its defaults follow; no other line to change."""
    source = recipes.recipe_path("neuron").read_text()
    edited = source.replace('"bias": 0.1,  # the bias b', '"bias": 0.75,  # b, the offset')
    assert edited != source
    copy = tmp_path / "neuron.py"
    copy.write_text(edited)
    shown = run_cli(str(copy), "--help")
    assert shown.returncode == 0, shown.stderr
    assert "--bias BIAS" in shown.stdout and "b, the offset (default: 0.75)" in shown.stdout
    assert "the inputs x, comma-separated (default: 0.5,-1,2)" in shown.stdout
    done = run_cli(str(copy), "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["z"] == pytest.approx(0.4 * 0.5 + 0.3 + 0.4 + 0.75)


def test_in_a_notebook_the_parameters_cell_overrides_settings(monkeypatch):
    monkeypatch.setattr(notebook, "in_kernel", lambda: True)
    namespace = {"__name__": "__main__", "SETTINGS": {"bias": 0.1, "activation": "relu"},
                 "NOTEBOOK_ARGS": ["--bias", "2"]}
    run = lesson.start("neuron", namespace)
    assert dict(run.settings) == {"bias": 2.0, "activation": "relu"}
    with pytest.raises(TypeError):
        run.settings["bias"] = 3  # a run's settings are read once, then fixed


def test_a_setting_of_another_kind_is_refused_by_name():
    namespace = {"__name__": "__main__", lesson.ARGV: [], "SETTINGS": {"layers": {"a": 1}}}
    with pytest.raises(TypeError, match=r"SETTINGS\['layers'\]"):
        lesson.start("neuron", namespace)
