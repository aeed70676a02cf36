"""Divergence, interruption, resources and damaged inputs: a clear message, nothing lost."""

import errno
import json
import signal
import time

import pytest

from common import cli
from common.errors import UsageError
from conftest import start_cli
from recipes import compare, mnist_mlp


def test_diverging_run_stops_at_once_and_says_so(tmp_path, capsys):
    results = mnist_mlp.main(["--quick", "--dataset", "mnist-5k", "--learning-rate", "1e9",
                              "--out", str(tmp_path / "r")])
    assert results["diverged"] is True
    assert results["epochs_run"] == 1  # of 2: TerminateOnNaN stopped it
    assert "DIVERGED" in capsys.readouterr().err
    on_disk = json.loads((tmp_path / "r" / "results.json").read_text())
    assert on_disk["diverged"] is True  # standard JSON: NaN became null
    assert on_disk["history"]["loss"][-1] is None


def test_comparison_goes_on_after_a_diverged_run(tmp_path):
    results = compare.main(["--quick", "--seeds", "1", "--dataset", "mnist-5k",
                            "--variants", "baseline,l2", "--learning-rate", "1e9",
                            "--out", str(tmp_path / "c")])
    assert [r["diverged"] for r in results["rows"]] == [True, True]
    assert results["summary"]["baseline"]["diverged"] == 1
    assert "(1 diverged)" in (tmp_path / "c" / "report.md").read_text()
    json.loads((tmp_path / "c" / "results.json").read_text())  # still valid JSON


def test_disk_full_and_out_of_memory_are_one_line(capsys):
    def disk_full(argv):
        raise OSError(errno.ENOSPC, "No space left on device", "runs/x/results.json")

    def no_memory(argv):
        raise MemoryError

    assert cli.console_main(disk_full) == 2
    assert cli.console_main(no_memory) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: no space left on the device (runs/x/results.json)")
    assert err[1].startswith("error: out of memory; lower --batch-size")


def test_tensorflow_out_of_memory_is_one_line(capsys):
    class ResourceExhaustedError(Exception):  # what TensorFlow raises, by name
        pass

    def oom(argv):
        raise ResourceExhaustedError("OOM when allocating tensor")

    assert cli.console_main(oom) == 2
    assert capsys.readouterr().err.startswith("error: out of memory")


def test_damaged_tfds_directory_is_named_and_skipped(tmp_path, monkeypatch, capsys):
    from common.datasets import load_dataset

    broken = tmp_path / "tfds" / "mnist" / "3.0.1"
    broken.mkdir(parents=True)
    (broken / "dataset_info.json").write_text("{ truncated")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    data = load_dataset("auto", offline=True)
    err = capsys.readouterr().err
    assert f"mnist data in {tmp_path / 'tfds' / 'mnist'} could not be read" in err
    assert data.name == "mnist-5k"


def test_too_many_epochs_warns(capsys):
    parser = cli.recipe_parser("x", "", epochs=10)
    cli.parse_recipe_args(parser, ["--epochs", "1000"])
    assert "1000 epochs is far more" in capsys.readouterr().err


def test_usage_error_is_not_a_traceback(capsys):
    def bad(argv):
        raise UsageError("--thing: wrong; do this instead")

    assert cli.console_main(bad) == 2
    assert capsys.readouterr().err == "error: --thing: wrong; do this instead\n"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_single_run_exits_130_and_resumes(tmp_path, sig):
    out = tmp_path / "run"
    process = start_cli(tmp_path, "recipes", "run", "mnist_mlp", "--dataset", "mnist-5k",
                        "--epochs", "8", "--out", str(out))
    seen = ""
    deadline = time.monotonic() + 240
    while "Epoch 3/" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    process.send_signal(sig)
    rest, _ = process.communicate(timeout=120)
    assert process.returncode == 130, seen + rest
    assert "interrupted" in rest and "Traceback" not in rest
    assert not (out / "results.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))
    logged = (out / "backup" / "model" / "epochs.csv").read_text().splitlines()
    assert len(logged) - 1 >= 2  # header + the finished epochs

    results = mnist_mlp.main(["--resume", str(out)])
    assert results["epochs_run"] == 8 and len(results["history"]["loss"]) == 8
    assert results["hyperparameters"]["epochs"] == 8
    assert (out / "results.json").exists() and not (out / "backup").exists()
    with pytest.raises(UsageError, match="that run has finished"):
        mnist_mlp.main(["--resume", str(out)])


def test_resume_refuses_a_directory_without_a_run(tmp_path):
    with pytest.raises(UsageError, match="no args.json there"):
        mnist_mlp.main(["--resume", str(tmp_path)])
    (tmp_path / "args.json").write_text('{"argv": 3}')
    with pytest.raises(UsageError, match="args.json is damaged"):
        mnist_mlp.main(["--resume", str(tmp_path)])
