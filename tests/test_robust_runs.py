"""Runs, flags and saved state under hostile conditions: workers beyond the machine,
Ctrl-C and SIGTERM around Dask workers, closed standard streams, crafted saved state,
run directories and flags. Each case is one line with exit 2, or a quiet, complete run.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import recipes
from common import cli
from tools import sweep
from conftest import ROOT, one_line_error

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "RECIPES_OFFLINE": "1"}


# --- workers ----------------------------------------------------------------------------------


def test_more_workers_than_the_machine_can_run_is_one_line(run_cli):
    most, _ = sweep.machine_workers()
    assert 1 <= most <= (os.cpu_count() or 1)
    done = run_cli("-m", "tools", "compare", "--quick", "--workers", "1000", timeout=60)
    line = one_line_error(done)
    assert "1000 workers is more than this machine can run" in line
    assert f"--workers {most} or fewer" in line


def test_workers_are_bounded_by_memory_too(monkeypatch):
    psutil = pytest.importorskip("psutil")
    available = int(2.5 * sweep.WORKER_MEMORY_BYTES)
    monkeypatch.setattr(psutil, "virtual_memory",
                        lambda: type("Memory", (), {"available": available})())
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert sweep.machine_workers()[0] == 2
    assert sweep.worker_count("2") == 2
    with pytest.raises(Exception, match="GB of memory available"):
        sweep.worker_count("3")


def test_a_full_comparison_uses_one_worker_per_core_by_default(monkeypatch):
    """The default job on TensorFlow trains through workers where there are two or more
    cores (docs/performance.md); JAX, --quick and a one-core machine train in this
    process, and --workers 0 asks for that anywhere."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "machine_workers", lambda: (2, "2 cores"))
    assert sweep.default_workers(quick=False, backend="tensorflow") == 2
    assert sweep.default_workers(quick=False, backend="jax") is None
    assert sweep.default_workers(quick=True, backend="tensorflow") is None
    monkeypatch.setattr(sweep, "machine_workers", lambda: (1, "1 core"))
    assert sweep.default_workers(quick=False, backend="tensorflow") is None
    assert sweep.worker_count("0") == 0 and sweep.argv(0) == []
    assert sweep.describe(0) == "this process"


def test_the_default_comparison_trains_in_workers_on_tensorflow_only(run_cli, tmp_path):
    """Not --quick, so the workers start: one epoch, two variants, one seed."""
    pytest.importorskip("distributed")
    if sweep.machine_workers()[0] < 2:
        pytest.skip("one core: the default trains in this process")
    done = run_cli("-m", "tools", "compare", "--dataset", "mnist-5k", "--offline",
                   "--epochs", "1", "--seeds", "2", "--no-tune", "--variants",
                   "baseline,dropout", "--out", str(tmp_path / "c"), timeout=300)
    assert done.returncode == 0, done.stderr
    on_tensorflow = cli.default_backend() == "tensorflow"
    assert ("local Dask worker processes" in done.stdout) == on_tensorflow, done.stdout
    results = json.loads((tmp_path / "c" / "results.json").read_text())
    assert len(results["rows"]) == 4


def _wait_for(process, text, seconds=240):
    seen = ""
    deadline = time.monotonic() + seconds
    while text not in seen and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
    return seen


def test_ctrl_c_with_workers_ends_them_quietly_and_keeps_a_partial_report(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "c"
    # A terminal's Ctrl-C signals the whole process group: the workers too.
    process = subprocess.Popen(
        [sys.executable, "-m", "tools", "compare", "--quick", "--dataset", "mnist-5k",
         "--variants", "baseline", "--no-tune", "--seeds", "4", "--epochs", "2",
         "--workers", "2", "--out", str(out)],
        cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    seen = _wait_for(process, "local Dask worker processes")
    time.sleep(6)  # the workers are up and training
    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=180)
    assert process.returncode == 130, seen + rest
    assert "Traceback" not in seen + rest and "KeyboardInterrupt" not in rest, rest
    assert "interrupted" in rest
    assert (out / "report.md").is_file() and (out / "config.json").is_file()


def _run_script(script, cwd):
    """``python -c script`` (one that ends in ``cli.console_main``), as a command runs."""
    return subprocess.run([sys.executable, "-c", script], cwd=cwd, env=ENV,
                          capture_output=True, text=True, timeout=60)


def test_a_signal_while_a_finished_command_exits_ends_it_quietly(tmp_path):
    # Dask's and TensorFlow's shutdown takes a second or two after the last line: a
    # SIGTERM then killed a finished comparison with 143 and no word.
    script = (
        "import atexit, os, signal, time\n"
        "from common import cli\n"
        "def late_signal():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(0.5)\n"
        "    print('exit went on', flush=True)\n"
        "def main(argv):\n"
        "    atexit.register(late_signal)  # runs after the project's own exit handler\n"
        "    print('finished', flush=True)\n"
        "raise SystemExit(cli.console_main(main))\n")
    done = _run_script(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["finished", "exit went on"]
    assert "Traceback" not in done.stderr


def test_a_signal_swallowed_by_a_finalizer_still_stops_the_next_training(tmp_path):
    # A signal that lands while Python runs a __del__ (TensorFlow's and JAX's objects have
    # them) raises KeyboardInterrupt there, and Python swallows it: a comparison once ran
    # to its end after SIGTERM. The request must take effect at the next training block.
    script = (
        "import gc, os, signal, time\n"
        "from common import cli\n"
        "class Finalized:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(0.5)\n"
        "        print('the finalizer went on', flush=True)\n"
        "def main(argv):\n"
        "    Finalized()\n"
        "    gc.collect()\n"
        "    print('between two runs', flush=True)\n"
        "    with cli.interruption_after():\n"
        "        print('trained', flush=True)\n"
        "raise SystemExit(cli.console_main(main))\n")
    done = _run_script(script, tmp_path)
    assert done.returncode == 130, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["between two runs"]
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert "interrupted" in done.stderr


# --- closed standard streams ------------------------------------------------------------------


@pytest.mark.parametrize("closed", [">&-", "2>&-", "<&- >&- 2>&-"])
def test_a_closed_standard_stream_gives_no_traceback(tmp_path, closed):
    out = tmp_path / "r"
    done = subprocess.run(
        ["bash", "-c", f'exec "$0" -m recipes run iris_softmax --quick --out "$1" {closed}',
         sys.executable, str(out)],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["recipe"] == "iris_softmax"
    # Nothing but the run's own files: no log line written into a file that took fd 1 or 2.
    assert sorted(p.name for p in out.iterdir()) == ["args.json", "learning_curves.png",
                                                     "model.keras", "results.json"]
    for name in ("args.json", "results.json"):
        json.loads((out / name).read_text())


# --- crafted saved state and records ----------------------------------------------------------


def _interrupted_iris_run(run_dir, state, **arrays):
    """A run directory as an interrupted ``run iris_softmax --quick`` leaves it, with the
    given state header and arrays in its training state."""
    import numpy as np

    folder = run_dir / "backup" / "model"
    folder.mkdir(parents=True)
    (run_dir / "args.json").write_text(json.dumps({"recipe": "iris_softmax",
                                                   "argv": ["--quick"]}))
    with open(folder / "state.npz", "wb") as file:
        np.savez(file, state=np.array(json.dumps(state)), **arrays)
    return folder / "state.npz"


@pytest.mark.parametrize("state, arrays, expected", [
    # The header says 2 epochs, the history holds 1: training went on, and the curves
    # then failed to draw at the end, with no results.json.
    ({"epoch": 2, "history": {"loss": [0.5]}, "variables": 1}, {"v0": [0.0]},
     "its history holds [1] epochs of loss, its header says 2 epochs"),
    ({"epoch": 2, "history": {"accuracy": [0.5, 0.6]}, "variables": 1}, {"v0": [0.0]},
     "its header says 2 epochs"),
    # NaN weights went on training and were reported as not diverged.
    ({"epoch": 1, "history": {"loss": [0.5]}, "variables": 1}, {"v0": [0.0, float("nan")]},
     "its weights hold NaN or infinity"),
])
def test_a_crafted_training_state_is_refused_before_training(run_cli, tmp_path, state,
                                                             arrays, expected):
    import numpy as np

    path = _interrupted_iris_run(tmp_path / "r", state,
                                 **{k: np.array(v) for k, v in arrays.items()})
    line = one_line_error(run_cli("-m", "recipes", "run", "iris_softmax", "--resume",
                                  str(tmp_path / "r")))
    assert str(path) in line and expected in line and "start a new run" in line
    assert not (tmp_path / "r" / "results.json").exists()


def test_a_state_file_that_is_a_link_to_nothing_is_refused(tmp_path):
    from common import checkpoint
    from common.errors import UsageError

    folder = tmp_path / "backup" / "model"
    folder.mkdir(parents=True)
    (folder / "state.npz").symlink_to(tmp_path / "elsewhere.npz")
    with pytest.raises(UsageError, match="state.npz is damaged .*not a plain file"):
        checkpoint.read_state(folder)


def test_a_std_beyond_floating_point_in_baselines_is_refused(tmp_path):
    from tools import baselines
    from common.errors import UsageError

    entry = {"recipe": "iris_softmax", "dataset": "iris", "args": [], "seeds": [0],
             "n_test": 30, "data_source": "sklearn:iris",
             "variants": {"iris_softmax": {"test_accuracy": [0.9], "mean": 0.9,
                                           "std": 0.0}}}
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps({"iris_softmax@iris": entry}).replace('"std": 0.0',
                                                                     '"std": 1e400'))
    with pytest.raises(UsageError, match="1e400 is beyond the range of a floating-point "
                                         "number.*restore it"):
        baselines.load(path)


def _nested(depth):
    return '{"a": ' * depth + "1" + "}" * depth


def test_deeply_nested_json_is_one_line(run_cli, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text(_nested(100_000))
    line = one_line_error(run_cli("-m", "tools", "compare", "--resume", str(tmp_path / "c")))
    assert "config.json: nested too deeply to be a file this project wrote (more than " \
           "64 levels)" in line
    (tmp_path / "results.json").write_text("[" * 100_000 + "]" * 100_000)
    line = one_line_error(run_cli("-m", "tools", "baselines", "check", "--results",
                                  str(tmp_path / "results.json")))
    assert "nested too deeply to be a file this project wrote (more than 64 levels)" in line


def test_a_results_file_too_large_to_read_is_one_line(run_cli, tmp_path):
    big = tmp_path / "results.json"
    with open(big, "wb") as file:  # sparse: no disk space is used
        file.truncate(8 * 2**30)
    line = one_line_error(run_cli("-m", "tools", "baselines", "check", "--results",
                                  str(big), timeout=120))
    assert "results.json is 8.0 GB, more than any file the project writes" in line
    assert "batch-size" not in line


def test_nesting_the_project_writes_is_read():
    from common import validate

    assert validate.parse('{"a": [1, {"b": "[[[[\\"]]"}], "c": 1.5}') == \
        {"a": [1, {"b": '[[[["]]'}], "c": 1.5}
    assert validate.parse("[" * 64 + "]" * 64)


# --- flags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["--grid", "l2=0.1,0.1"], "'l2=0.1,0.1': 0.1 repeats a value listed before it"),
    (["--grid", "l2=0.1,1e-1"], "1e-1 repeats a value listed before it"),
    (["--grid", "l2=0.1", "--grid", "l2=0.2"],
     "--grid l2=0.1 and --grid l2=0.2: give each regularizer's values in one --grid"),
    (["--grid", "l2=,,,"], "'l2=,,,': write REGULARIZER=V1,V2,..."),
    (["--grid", "l2="], "'l2=': write REGULARIZER=V1,V2,..."),
    (["--variants", "baseline,l2", "--grid", "dropout=0.1,0.2"],
     "--grid dropout=0.1,0.2: dropout is not among --variants (baseline,l2)"),
    (["--grid", "l2=" + ",".join(str(i) for i in range(1, 1001))],
     "1000 values; a grid holds at most 20 per regularizer"),
    # 20 values, and the fixed variant's own (0.001) makes 21: its --resume would refuse it.
    (["--grid", "l2=" + ",".join(str(i) for i in range(1, 21))],
     "--grid l2: 21 values with the fixed variant's own (0.001); a grid holds at most 20"),
    (["--seeds", "10001"], "--seeds 10001: at most 10000 seeds in one comparison"),
])
def test_a_grid_that_would_be_used_otherwise_than_written_is_one_line(run_cli, args,
                                                                      expected):
    assert expected in one_line_error(run_cli("-m", "tools", "compare", "--quick", *args))


def test_grid_values_that_differ_past_six_digits_get_their_own_runs():
    from tools import tuning

    names = [tuning.candidate_name("l2", v) for v in (1e-4, 1.0000001e-4, 1e-5, 10, 0.3)]
    assert names[0] != names[1]
    assert names[0] == "l2-0p0001" and names[2:] == ["l2-1e-05", "l2-10", "l2-0p3"]
    variants = {"l2": {"model": {"l2": 1e-3}}}
    plan = tuning.plan(variants, {"l2": {"l2": [1e-4, 1.0000001e-4]}})
    runs = [name for name, _, _ in tuning.candidates(variants, plan)["l2"]]
    assert len(set(runs)) == len(runs) == 3


# --- run directories --------------------------------------------------------------------------


def test_a_lock_that_is_a_link_is_refused_and_its_target_never_created(run_cli, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside" / "created"
    (tmp_path / "outside").mkdir()
    (out / ".lock").symlink_to(outside)
    line = one_line_error(run_cli("-m", "recipes", "run", "iris_softmax", "--quick",
                                  "--out", str(out)))
    assert ".lock is a link" in line and "remove it or choose another directory" in line
    assert not outside.exists() and not outside.is_symlink()
    assert sorted(p.name for p in out.iterdir()) == [".lock"]


def test_a_lock_link_put_there_after_the_check_is_not_followed(tmp_path, monkeypatch):
    from common import runs
    from common.errors import UsageError

    out = tmp_path / "out"
    outside = tmp_path / "created-outside"
    check = runs.check_out_dir

    def check_then_plant_a_link(path, **options):  # the race: a link appears after the check
        checked = check(path, **options)
        if not (out / ".lock").is_symlink():
            out.mkdir(exist_ok=True)
            (out / ".lock").symlink_to(outside)
        return checked

    monkeypatch.setattr(runs, "check_out_dir", check_then_plant_a_link)
    monkeypatch.setattr(runs, "_refuse_odd_lock", lambda path, flag: None)
    with pytest.raises(UsageError), runs.RunDirectory("x", out) as folder:
        folder.claim()
    assert not outside.exists()


def test_a_variant_named_like_a_tuning_candidate_is_refused(monkeypatch):
    from common.errors import UsageError
    from tools import compare

    cells = compare.lesson()
    cells.VARIANTS["l2-0p01"] = {"model": {"dropout": 0.5}}  # as if the cell had it
    monkeypatch.setattr(compare, "lesson", lambda: cells)
    with pytest.raises(UsageError, match="variant 'l2-0p01' has the name of l2's tuning "
                                         "candidate 0.01"):
        compare.main(["--quick", "--variants", "l2,l2-0p01", "--grid", "l2=0.001,0.01"])


def test_a_resumed_comparison_with_a_variant_named_like_a_candidate_is_one_line(run_cli,
                                                                                tmp_path):
    config = {"command": "compare", "dataset": "mnist-5k",
              "variants": {"l2": {"model": {"l2": 1e-3}},
                           "l2-0p01": {"model": {"dropout": 0.5}}},
              "tuning": {"rule": "r", "grid": {"l2": {"setting": "l2",
                                                      "values": [0.001, 0.01]}}},
              "seeds": [0], "epochs": 1, "batch_size": 128, "train_size": 256,
              "patience": None, "steps_per_execution": 1, "quick": True,
              "tensorboard": False, "learning_rate": 1e-3}
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    line = one_line_error(run_cli("-m", "tools", "compare", "--resume", str(tmp_path / "c")))
    assert "variant 'l2-0p01' has the name of l2's tuning candidate 0.01" in line
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["config.json"]


@pytest.mark.parametrize("command, flags, named", [
    (["recipes", "run", "iris_softmax"], ["--epochs", "400"], "--epochs"),
    (["recipes", "run", "iris_softmax"], ["--epochs", "400", "--seed", "3"],
     "--epochs, --seed"),
    (["tools", "compare"], ["--seeds", "5"], "--seeds"),
    (["tools", "compare"], ["--out", "elsewhere"], "--out"),
    (["recipes", "run", "iris_softmax"], ["--quick"], "--quick"),
])
def test_resume_with_new_settings_is_refused_naming_them(run_cli, tmp_path, command, flags,
                                                         named):
    interrupted = tmp_path / "r"
    interrupted.mkdir()
    (interrupted / "args.json").write_text(json.dumps({"recipe": "iris_softmax",
                                                       "argv": ["--epochs", "3"]}))
    line = one_line_error(run_cli("-m", *command, "--resume", str(interrupted), *flags))
    assert f"goes on with the settings the run was started with; leave out {named} " in line


@pytest.mark.parametrize("command", [["recipes", "run", "iris_softmax"], ["tools", "compare"]])
def test_an_empty_resume_is_refused_not_read_as_this_folder(run_cli, command):
    line = one_line_error(run_cli("-m", *command, "--resume", ""))
    assert "--resume: is empty (an unset variable in the command?)" in line


def test_the_not_empty_message_offers_resume_only_for_an_interrupted_run(tmp_path):
    from common import runs
    from common.errors import UsageError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my notes")
    with pytest.raises(UsageError) as refused:
        runs.check_out_dir(str(tmp_path / "mine"))
    assert "--resume" not in str(refused.value)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "args.json").write_text("{}")
    with pytest.raises(UsageError, match=f"or --resume {tmp_path / 'run'} to continue"):
        runs.check_out_dir(str(tmp_path / "run"))


def test_resume_of_a_missing_directory_says_so_before_the_flags(run_cli, tmp_path):
    line = one_line_error(run_cli("-m", "recipes", "run", "iris_softmax", "--quick",
                                  "--resume", str(tmp_path / "none")))
    assert "no such directory; give the directory of an interrupted run" in line


def test_resume_may_change_where_and_how_loudly(tmp_path):
    from common.errors import UsageError

    # Refused for the missing run, not for --verbose or --offline.
    with pytest.raises(UsageError, match="no such directory"):
        recipes.run("iris_softmax", ["--resume", str(tmp_path / "none"), "--verbose", "--offline"])


def test_a_scheduler_address_that_is_not_dasks_is_one_line(run_cli):
    import socket

    with socket.socket() as listening:  # something answers there, but not Dask
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        line = one_line_error(run_cli("-m", "tools", "compare", "--quick", "--scheduler",
                                      f"http://127.0.0.1:{port}", timeout=120))
    assert "starts with tcp:// or tls://, not http://" in line
    line = one_line_error(run_cli("-m", "tools", "compare", "--quick", "--scheduler",
                                  f"tcp://{'a' * 300}:8786", timeout=120))
    assert "is not a valid host name" in line and len(line) < 300


def test_notebook_build_jobs_must_be_positive(run_cli):
    line = one_line_error(run_cli(str(ROOT / "notebooks" / "build.py"), "--jobs", "0"))
    assert "--jobs: must be a whole number > 0, got '0'" in line


@pytest.mark.parametrize("recipe, hidden, expected", [
    ("iris_softmax", "2147483647", "at most 65536 units per layer"),
    ("mnist_mlp", "60000,60000", "3,600,000,000 weights between the hidden layers"),
])
def test_hidden_layers_too_wide_for_memory_are_one_line(run_cli, recipe, hidden, expected):
    line = one_line_error(run_cli("-m", "recipes", "run", recipe, "--hidden", hidden))
    assert expected in line and "batch-size" not in line


@pytest.mark.parametrize("command", ["run", "show"])
def test_run_help_is_the_commands_help(run_cli, command):
    done = run_cli("-m", "recipes", command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m recipes {command} NAME")
    assert "iris_softmax" in done.stdout and "unknown recipe" not in done.stderr


def test_a_truncated_state_is_named_with_what_to_do_and_removing_it_trains_again(run_cli,
                                                                                  tmp_path):
    import numpy as np

    path = _interrupted_iris_run(tmp_path / "r", {"epoch": 1, "history": {"loss": [0.5]},
                                                  "variables": 1}, v0=np.zeros(3))
    path.write_bytes(path.read_bytes()[:100])
    line = one_line_error(run_cli("-m", "recipes", "run", "iris_softmax", "--resume",
                                  str(tmp_path / "r")))
    assert f"the saved training state {path} is damaged" in line
    assert "or remove that file: --resume then trains its model again from epoch 1" in line
    path.unlink()
    done = run_cli("-m", "recipes", "run", "iris_softmax", "--resume", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "r" / "results.json").read_text())["epochs_run"] == 2
