"""The command line: listing without TensorFlow, one-line errors, exit codes, outputs."""

import json
import os
import re
from pathlib import Path

import pytest

from common import cli, runs
from common.errors import UsageError
from conftest import ROOT, one_line_error

import recipes


def imports_tensorflow(completed) -> bool:
    return any(" tensorflow" in line.split("|")[-1] and "tensorflow_datasets" not in line
               for line in completed.stderr.splitlines() if line.startswith("import time"))


def test_list_names_every_recipe_without_importing_tensorflow(run_cli):
    done = run_cli("-X", "importtime", "-m", "recipes", "list")
    assert done.returncode == 0, done.stderr
    for name in recipes.recipe_names():
        assert name in done.stdout
    assert "slide topic:" in done.stdout and "dataset:" in done.stdout
    assert not imports_tensorflow(done)


def test_importtime_check_does_see_tensorflow(run_cli):
    done = run_cli("-X", "importtime", "-c", "import tensorflow")
    assert imports_tensorflow(done)


@pytest.mark.parametrize("name", recipes.recipe_names())
def test_recipe_help_states_defaults_without_tensorflow(run_cli, name):
    done = run_cli("-X", "importtime", "-m", "recipes", "run", name, "--help")
    assert done.returncode == 0, done.stderr
    assert "(default: " in done.stdout and "--out DIR" in done.stdout
    if "--epochs" in done.stdout:  # every recipe that trains has the smoke flag
        assert "--quick" in done.stdout
    assert not imports_tensorflow(done)
    direct = run_cli("-m", f"recipes.{name}", "--help")
    assert direct.stdout == done.stdout


def test_unknown_recipe_names_the_choices(run_cli):
    line = one_line_error(run_cli("-m", "recipes", "run", "no_such_recipe"))
    assert "unknown recipe 'no_such_recipe'" in line and "mnist_mlp" in line


def test_unknown_command(run_cli):
    assert "choose from: list, run, show" in one_line_error(run_cli("-m", "recipes", "frobnicate"))


@pytest.mark.parametrize("given, instead", [
    (["grade", "01_neuron", "my neuron.py"], "python -m tools grade 01_neuron 'my neuron.py'"),
    (["baselines", "check"], "python -m tools baselines check"),
    (["bench", "--quick"], "python -m benchmarks.bench --quick"),
])
def test_a_tool_asked_of_the_recipes_command_names_its_own(run_cli, given, instead):
    """The tools sit above the recipes, with command lines of their own: asked of
    ``python -m recipes``, the one line gives the command to run, arguments kept."""
    line = one_line_error(run_cli("-m", "recipes", *given))
    assert line.endswith(f"is a tool built on the recipes: run {instead}")


def test_the_tools_command_line_runs_its_tools(run_cli):
    done = run_cli("-m", "tools", "--help")
    assert done.returncode == 0 and "baselines" in done.stdout and "grade" in done.stdout
    assert "compare" in done.stdout
    done = run_cli("-m", "tools", "grade", "list")
    assert done.returncode == 0 and "01_neuron" in done.stdout
    assert "choose from: compare, baselines, grade" in one_line_error(
        run_cli("-m", "tools", "run"))


@pytest.mark.parametrize("flags, expected", [
    (["--epochs", "0"], "--epochs: must be a whole number > 0, got '0'"),
    (["--epochs", "two"], "--epochs: must be a whole number > 0"),
    (["--batch-size", "-5"], "--batch-size: must be a whole number > 0"),
    (["--seed", "-1"], "--seed: must be a whole number >= 0"),
    (["--seed", "1.5"], "--seed: must be a whole number >= 0"),
    (["--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["--hidden", "300,x"], "--hidden: must be comma-separated whole numbers"),
    (["--learning-rate", "nan"], "--learning-rate: must be a number > 0"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_bad_flags_are_one_line_and_exit_2(run_cli, flags, expected):
    assert expected in one_line_error(run_cli("-m", "recipes", "run", "mnist_mlp", *flags))


def test_out_that_is_a_file_is_refused(run_cli, tmp_path):
    (tmp_path / "taken").write_text("x")
    line = one_line_error(run_cli("-m", "recipes.mnist_mlp", "--quick", "--out", "taken"))
    assert "is a file" in line


def test_out_holding_an_earlier_run_is_refused(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(UsageError, match="already holds a run"):
        runs.check_out_dir(str(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_out_not_writable_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(UsageError, match="not writable"):
        runs.check_out_dir(str(locked / "run"))


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc on this system")
def test_out_where_nothing_can_be_created_is_refused_before_the_data_loads(run_cli, tmp_path):
    """/proc passes os.access for root; a folder there cannot be made all the same."""
    done = run_cli("-m", "recipes", "run", "iris_softmax", "--out", "/proc/run")
    assert "--out /proc/run" in one_line_error(done)
    assert "data:" not in done.stdout  # refused while parsing, not at the first epoch
    # The check creates only the folder the run would create, and removes it again.
    assert runs.check_out_dir(str(tmp_path / "new" / "run")) == tmp_path / "new" / "run"
    assert list(tmp_path.iterdir()) == []


def test_an_empty_out_is_refused_not_taken_for_the_current_folder(run_cli, tmp_path):
    """`--out "$DIR"` with DIR unset: Path("") would be the folder the command runs in."""
    done = run_cli("-m", "recipes", "run", "iris_softmax", "--quick", "--out", "")
    assert "--out is empty" in one_line_error(done)
    assert list(tmp_path.iterdir()) == []  # run_cli runs in tmp_path: nothing written


def test_missing_dataset_offline_is_one_line(run_cli, tmp_path):
    done = run_cli("-m", "recipes", "run", "mnist_mlp", "--dataset", "fashion_mnist", "--quick",
                   env={"RECIPES_FASHION_MNIST_DIR": str(tmp_path / "absent"),
                        "KERAS_HOME": str(tmp_path / "keras"),
                        "TFDS_DATA_DIR": str(tmp_path / "tfds")})
    line = one_line_error(done)
    assert "apt-get install dataset-fashion-mnist" in line
    assert not list(tmp_path.glob("runs/*")), "no output directory for a failed run"


def test_default_out_dirs_never_collide(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with runs.RunDirectory("x") as first, runs.RunDirectory("x") as second:
        assert first.claim() != second.claim()
        assert first.path.is_dir() and second.path.is_dir()


def test_atomic_write_leaves_no_half_file(tmp_path):
    target = tmp_path / "results.json"
    runs.write_json(target, {"ok": 1})

    def half_then_fail(tmp):
        tmp.write_text('{"ok": ')
        raise OSError("disk full")

    with pytest.raises(OSError):
        runs.atomic_write(target, half_then_fail)
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_show_prints_the_model_cell(run_cli):
    done = run_cli("-m", "recipes", "show", "mnist_mlp")
    assert done.returncode == 0
    assert "def build_model(" in done.stdout and "from common" not in done.stdout


def tiny_dataset(n_train):
    """``n_train`` rows of two features: all the batch-size rule looks at is the count."""
    import numpy as np
    from common.datasets import Dataset

    x, y = np.zeros((n_train, 2), np.float32), np.arange(n_train) % 2
    return Dataset("tiny", "test:tiny", x, y, x[:8], y[:8], x[:8], y[:8], ("a", "b"))


@pytest.mark.parametrize("n_train, flags, expected", [
    (3_500, [], 128),                        # mnist-5k's training split
    (19_999, [], 128),
    (20_000, [], 512),                       # from 20,000 examples on: the large batch
    (55_000, [], 512),                       # full MNIST and Fashion-MNIST
    (55_000, ["--batch-size", "64"], 64),    # a flag always wins
    (3_500, ["--batch-size", "256"], 256),
])
def test_batch_size_follows_the_training_set_size_unless_given(n_train, flags, expected,
                                                               tmp_path, capsys, monkeypatch):
    from common import cli, training

    monkeypatch.setattr(training, "load_dataset", lambda name, **kwargs: tiny_dataset(n_train))
    parser = cli.recipe_parser("example", "Title: example", datasets=["mnist-5k"],
                               default_dataset="mnist-5k", epochs=1)
    args = parser.parse_args([*flags, "--out", str(tmp_path / "r")])
    assert args.batch_size == (int(flags[1]) if flags else None)
    completed, _ = training.load_data(args)
    assert completed.batch_size == expected
    assert args.batch_size == (int(flags[1]) if flags else None)  # the parsed flags stay as parsed
    assert f"batch size {expected}" in capsys.readouterr().out


def test_a_copy_written_for_one_return_value_is_told_the_new_form(tmp_path, monkeypatch):
    from common import cli, training

    monkeypatch.setattr(training, "load_dataset", lambda name, **kwargs: tiny_dataset(64))
    parser = cli.recipe_parser("example", "Title: example", datasets=["mnist-5k"],
                               default_dataset="mnist-5k", epochs=1)
    data = training.load_data(parser.parse_args(["--out", str(tmp_path / "r")]))
    with pytest.raises(AttributeError, match=r"write `args, data = training.load_data\(args\)`"):
        data.input_shape


@pytest.mark.parametrize("dataset, expected", [("mnist-5k", 128), ("fashion_mnist", 512)])
def test_batch_size_on_real_data(dataset, expected, tmp_path, capsys):
    from common import cli, training
    from common.errors import DatasetUnavailable

    parser = cli.recipe_parser("example", "Title: example", datasets=[dataset],
                               default_dataset=dataset, epochs=1)
    args = parser.parse_args(["--out", str(tmp_path / "r")])
    try:
        args, _ = training.load_data(args)
    except DatasetUnavailable as error:  # Fashion-MNIST needs Debian's package offline
        pytest.skip(str(error))
    assert args.batch_size == expected
    assert f"data: {dataset} from " in capsys.readouterr().out


@pytest.mark.parametrize("recipe", ["neuron", "softmax", "cross_entropy", "norms_penalties"])
def test_the_lecture_math_recipes_offer_no_flag_that_does_nothing_there(run_cli, recipe):
    """They compute with fixed numbers and print every step: no --seed, no --verbose."""
    done = run_cli("-m", "recipes", "run", recipe, "--help")
    assert done.returncode == 0
    assert "--seed" not in done.stdout and "--verbose" not in done.stdout
    assert "--seed: unrecognized" not in one_line_error(
        run_cli("-m", "recipes", "run", recipe, "--seed", "1"))


def test_help_lists_the_lessons_settings_first_then_training_then_run_options(run_cli):
    text = run_cli("-m", "recipes", "run", "mnist_dropout", "--help").stdout
    at = {name: text.index(f"\n{name}") for name in (
        "this recipe's settings:", "  --dropout", "data and training:", "  --epochs", "run options:",
        "  --steps-per-execution", "  --out DIR")}
    assert list(at) == sorted(at, key=at.get), "the help's sections, in this order"


@pytest.mark.parametrize("name", ["mnist_dropout", "iris_softmax", "mnist_l2"])
def test_the_usage_line_starts_with_the_lessons_flags_and_shows_no_flag_that_does_nothing(
        run_cli, name):
    done = run_cli("-m", "recipes", "run", name, "--help")
    usage = " ".join(done.stdout[:done.stdout.index("\n\n")].split())
    flags = re.findall(r"\[(--[\w-]+)", usage)
    own = {"mnist_dropout": "--dropout", "iris_softmax": "--hidden", "mnist_l2": "--l2"}[name]
    assert flags[0] == own and flags.index("--hidden") < flags.index("--epochs"), usage
    assert "(default: False)" not in done.stdout  # a switch is off unless given
    if name == "iris_softmax":  # one dataset: nothing to choose, and still accepted
        assert "--dataset" not in done.stdout
        assert "--dataset" not in one_line_error(run_cli("-m", "recipes", "run", name,
                                                         "--dataset", "iris", "--epochs",
                                                         "0"))
    if name == "mnist_dropout":  # widths as they are typed, not a Python tuple
        assert "(default: 300,100)" in " ".join(done.stdout.split())


def test_editing_the_settings_changes_the_run(tmp_path):
    """A setting edited in a copy of the lesson is what the run trains."""
    import recipes

    source = (ROOT / "recipes" / "iris_softmax.py").read_text()
    edited = source.replace('"hidden": 16,', '"hidden": 5,', 1)
    assert edited != source
    path = tmp_path / "iris_softmax_edited.py"
    path.write_text(edited)
    results = recipes.run_file(path, ["--quick", "--out", str(tmp_path / "run")])
    assert results["hyperparameters"]["hidden"] == 5
    assert results["params"] == 4 * 5 + 5 + 5 * 3 + 3


def test_a_lessons_settings_agree_with_its_model_cell():
    """A lesson's run takes its settings from SETTINGS, the cells `show` prints from the
    model cell's (and variants') defaults: the two must be the same numbers, or a pasted
    lesson would train another model than the recipe's."""
    import inspect

    import recipes

    checked = 0
    for name in recipes.recipe_names():
        if not (recipes.is_lesson(name) and recipes.trains_end_to_end(name)):
            continue
        cells = recipes.cells(name)
        namespace = {}
        exec(re.search(r"^SETTINGS = \{.*?^\}", recipes.recipe_text(name), re.M | re.S)[0],
             namespace)
        for function in (cells.get("variants"), cells["build_model"]):
            for key, parameter in (inspect.signature(function).parameters.items()
                                   if function else []):
                key = {"rate": "dropout"}.get(key, key)  # mnist_dropout's --dropout
                if key in namespace["SETTINGS"] and parameter.default is not parameter.empty:
                    setting = namespace["SETTINGS"][key]
                    default = parameter.default
                    assert list(default) == setting if isinstance(default, tuple) else \
                        default == setting, (name, key)
                    checked += 1
    assert checked >= 15


def test_flags_only_stops_a_recipe_at_its_parser_and_ends_with_its_block(tmp_path):
    """How the baselines read a recipe's flags without running it: no patching of the
    parser, and nothing left behind once the block ends."""

    out = tmp_path / "never"
    with pytest.raises(cli.FlagsParsed) as parsed, cli.flags_only():
        recipes.run("iris_softmax", ["--quick", "--epochs", "7", "--out", str(out)])
    assert parsed.value.namespace.epochs == 2 and parsed.value.namespace.quick
    assert not out.exists()
    results = recipes.run("iris_softmax", ["--quick", "--out", str(out)])  # after the block: a run
    assert out.exists() and results


def test_parsed_flags_are_read_only_and_replace_makes_a_new_value(tmp_path):
    import pickle

    from common import cli

    parser = cli.recipe_parser("example", "Title: example", datasets=["mnist-5k"],
                               default_dataset="mnist-5k", epochs=3)
    args = parser.parse_args(["--out", str(tmp_path / "r")])
    with pytest.raises(AttributeError, match="read-only"):
        args.epochs = 1
    with pytest.raises(AttributeError, match="read-only"):
        del args.epochs
    shorter = args.replace(epochs=1)
    assert (shorter.epochs, args.epochs) == (1, 3) and shorter.out == args.out
    with pytest.raises(AttributeError, match="read-only"):
        shorter.epochs = 2
    assert pickle.loads(pickle.dumps(args)) == args  # as a Dask worker receives it
    assert not (tmp_path / "r").exists()  # parsing claims no directory


def test_quick_takes_the_recipes_own_epoch_count(tmp_path):
    from common import cli

    parser = cli.recipe_parser("example", "Title: example", epochs=1000, batch_size=32,
                               quick_epochs=100)
    assert parser.parse_args(["--quick"]).epochs == 100
    assert parser.parse_args(["--quick", "--epochs", "50"]).epochs == 50
    assert "at most 100 epochs (for tests" in " ".join(parser.format_help().split())


@pytest.mark.parametrize("resumable", [True, False])
def test_the_run_directory_is_claimed_at_the_first_write(resumable, tmp_path, monkeypatch):
    """Parsing the flags and loading the data create nothing: a run that stops after its
    data loaded (a model too big for memory, Ctrl-C while it builds) leaves nothing that
    would block the same --out again. The directory is claimed, once, when the run first
    writes: a resumable run's when its training starts, any other run's by its results;
    and let go when the block the run's directory was entered in ends."""
    import json

    import keras

    from common import cli, training
    from common.errors import DatasetUnavailable

    out = tmp_path / "r"
    parser = cli.recipe_parser("example", "Title: example", datasets=["mnist-5k"],
                               default_dataset="mnist-5k", epochs=1, resumable=resumable)
    args = parser.parse_args(["--out", str(out)])

    def unavailable(name, **kwargs):
        raise DatasetUnavailable("offline")

    monkeypatch.setattr(training, "load_dataset", unavailable)
    with pytest.raises(DatasetUnavailable):
        training.load_data(args)
    assert not out.exists()

    monkeypatch.setattr(training, "load_dataset", lambda name, **kwargs: tiny_dataset(64))
    completed, data = training.load_data(args)
    assert not out.exists()  # nothing written yet: nothing claimed

    def train(model, x_train, y_train, x_val, y_val, **options):
        return model.fit(x_train, y_train, validation_data=(x_val, y_val),
                         epochs=options["epochs"], batch_size=options["batch_size"],
                         callbacks=options["callbacks"], verbose=0)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with runs.RunDirectory("example", completed.out,
                           argv=completed.argv if resumable else None) as folder:
        training.fit(train, model, data, completed, folder=folder)
        if resumable:  # the first epoch's state, and the command line --resume goes on with
            assert json.loads((out / "args.json").read_text()) == {
                "recipe": "example", "argv": ["--out", str(out)]}
            assert (out / "backup").is_dir()
            assert folder.claim() == out  # claimed once: again, the same
            with pytest.raises(UsageError, match="in use by another run"):
                runs.RunDirectory("other", resume=out).claim()  # even from this process
        else:
            assert not out.exists()  # claimed by its results, in finish
    if resumable:  # the block ended: another run may go on there
        with runs.RunDirectory("example", resume=out) as resumed:
            assert resumed.claim() == out
