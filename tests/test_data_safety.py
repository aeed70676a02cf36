"""A user's files are never lost, mixed or misplaced; every bad file or OS error is one line.

Each test here failed on the code before output directories became exclusive and every
file read back was validated.
"""

import errno
import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest

import recipes
from common import checkpoint, cli, runs
from tools import baselines
from common.errors import UsageError
from conftest import ROOT, one_line_error
from tools import compare

QUICK_CONFIG = {
    "command": "compare", "dataset": "mnist-5k", "variants": {"baseline": {"model": {}}},
    "seeds": [0], "epochs": 1, "batch_size": 128, "train_size": 256, "patience": 1,
    "steps_per_execution": 1, "quick": True, "tensorboard": False, "learning_rate": 1e-3,
}


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# --- an output directory belongs to one run ------------------------------------------------


def test_a_folder_of_the_users_survives_a_run_pointed_at_it(run_cli, tmp_path):
    mine = tmp_path / "mine"
    (mine / "backup").mkdir(parents=True)
    (mine / "backup" / "thesis.tex").write_text("months of work")
    line = one_line_error(run_cli("-m", "recipes", "run", "mnist_mlp", "--quick",
                                  "--dataset", "mnist-5k", "--out", str(mine)))
    assert "is not empty (backup)" in line
    assert "--resume" not in line  # no args.json: not an interrupted run to go on with
    assert (mine / "backup" / "thesis.tex").read_text() == "months of work"
    assert files_under(mine) == ["backup", "backup/thesis.tex"]


@pytest.mark.parametrize("command", [["recipes", "run", "softmax"],
                                     ["tools", "compare", "--quick"]])
def test_a_directory_with_any_file_is_refused_before_any_work(run_cli, tmp_path, command):
    (tmp_path / "notes.txt").write_text("mine")
    line = one_line_error(run_cli("-m", *command, "--out", str(tmp_path)))
    assert "is not empty (notes.txt)" in line
    assert files_under(tmp_path) == ["notes.txt"]


def test_an_empty_directory_is_accepted(tmp_path):
    (tmp_path / "empty").mkdir()
    recipes.run("softmax", ["--out", str(tmp_path / "empty")])
    assert (tmp_path / "empty" / "results.json").exists()


def test_a_directory_in_use_by_another_process_is_refused(run_cli, tmp_path):
    with runs.RunDirectory("x", tmp_path / "busy") as held:
        held.claim()
        line = one_line_error(run_cli("-m", "recipes", "run", "softmax", "--out", str(held.path)))
        assert "in use by another run" in line
    done = run_cli("-m", "recipes", "run", "softmax", "--out", str(held.path))
    assert done.returncode == 0, done.stderr


def test_a_run_stopped_in_a_notebook_lets_go_of_its_folder(run_cli, tmp_path, monkeypatch):
    """A notebook's kernel lives on after a run it interrupted: when a cell ends with an
    error, the run's folder is let go of as when a process ends, so a terminal can
    --resume it (or a new run use it). A cell that succeeds keeps what it holds: a
    lesson's run goes on over several cells."""
    from types import SimpleNamespace

    import IPython

    from common import notebook

    shell = SimpleNamespace(events=SimpleNamespace(callbacks={"post_run_cell": []}))
    shell.events.register = lambda name, hook: shell.events.callbacks[name].append(hook)
    shell.events.unregister = lambda name, hook: shell.events.callbacks[name].remove(hook)
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)

    def cell_ends(success):
        for hook in list(shell.events.callbacks["post_run_cell"]):
            hook(SimpleNamespace(success=success))

    out = tmp_path / "run"
    folder = runs.RunDirectory("softmax", out)
    notebook.let_go_when_a_cell_fails(folder)
    folder.claim()
    (out / "args.json").write_text("{}")
    cell_ends(True)
    assert folder.claimed
    cell_ends(False)  # the kernel's interrupt, or a typo, ended the cell
    assert not folder.claimed
    with runs.RunDirectory("softmax", resume=out) as terminal:  # free for a terminal
        assert terminal.claim() == out
    # The student goes on in the kernel: the run's next write claims its own folder
    # again (it holds the run's own files, which a new --out would refuse).
    assert folder.claim() == out and folder.claimed
    folder.write_results({})
    cell_ends(True)  # the run is over: its hook goes with it
    assert shell.events.callbacks["post_run_cell"] == []

    # A lesson started again in the kernel lets go of the run it leaves; that run's
    # folder is then free for the new run's --resume.
    left = runs.RunDirectory("softmax", tmp_path / "left")
    notebook.let_go_when_a_cell_fails(left)
    left.claim()
    notebook.let_go_of_earlier_runs()
    assert not left.claimed and shell.events.callbacks["post_run_cell"] == []
    with runs.RunDirectory("softmax", resume=tmp_path / "left") as again:
        assert again.claim() == tmp_path / "left"
        (tmp_path / "left" / "results.json").write_text("{}")  # finished by that run
    with pytest.raises(UsageError, match="holds a finished run's results now"):
        left.claim()  # the old run cannot write over it


def test_a_lessons_folder_is_let_go_however_its_run_ends(tmp_path):
    """recipes.run (and a recipe run as a command) runs the lesson inside a block that
    lets go of its folder when it ends: a run stopped by an error in this process leaves
    its folder free for the next."""
    from common import lesson

    stops = tmp_path / "stops.py"
    stops.write_text('"""Title: a lesson stopped after its first write."""\n'
                     "from common import lesson\n"
                     'SETTINGS = {"size": 1}\n'
                     'run = lesson.start("stops", globals())\n'
                     "run.folder.claim()\n"
                     "raise KeyboardInterrupt\n")
    out = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        lesson.run_file(stops, ["--out", out])
    with runs.RunDirectory("x", resume=out) as again:  # not held by the stopped run
        assert again.claim() == out

    stopped = tmp_path / "stopped-after-claiming"
    with pytest.raises(KeyboardInterrupt):
        with runs.RunDirectory("x", stopped) as folder:
            folder.claim()
            raise KeyboardInterrupt
    assert not folder.claimed and (stopped / runs.LOCK_FILE).is_file()  # kept for --resume
    with runs.RunDirectory("x", resume=stopped) as again:
        assert again.claim() == stopped


def test_a_folder_is_claimed_once_and_its_results_written_once(tmp_path):
    with runs.RunDirectory("x", tmp_path / "run") as folder:
        assert folder.claim() == folder.claim() == tmp_path / "run"
        with pytest.raises(UsageError, match="in use by another run"):
            runs.RunDirectory("y", tmp_path / "run").claim()  # a second run, same process
        folder.write_results({"ok": 1})
        assert not folder.claimed  # written: let go at once
        with pytest.raises(RuntimeError, match="written already"):
            folder.write_results({"ok": 2})
    assert json.loads((tmp_path / "run" / "results.json").read_text()) == {
        "ok": 1, "versions": runs.library_versions()}


def test_a_finished_run_lets_go_of_its_lock_file_and_only_of_its_own(tmp_path):
    finished = runs.RunDirectory("x", tmp_path / "finished")
    finished.write_results({})
    assert not (finished.path / runs.LOCK_FILE).exists()  # nothing left for a hand-in to carry
    with runs.RunDirectory("x", tmp_path / "unfinished") as unfinished:
        unfinished.claim()
    assert (unfinished.path / runs.LOCK_FILE).is_file()  # interrupted: kept for --resume
    with runs.RunDirectory("x", tmp_path / "swapped") as swapped:
        swapped.claim()
        (swapped.path / "results.json").write_text("{}")
        (swapped.path / runs.LOCK_FILE).unlink()
        (swapped.path / runs.LOCK_FILE).write_text("someone else's")  # not the file it locked
    assert (swapped.path / runs.LOCK_FILE).read_text() == "someone else's"


def test_two_runs_on_one_out_at_once_one_wins_one_is_refused(tmp_path):
    out = tmp_path / "shared"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECIPES_OFFLINE": "1"}
    command = [sys.executable, "-m", "recipes", "run", "iris_softmax", "--quick",
               "--out", str(out)]
    processes = [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 2], outcomes
    refused = next(err for code, err in outcomes if code == 2)
    assert "Traceback" not in refused
    assert "in use by another run" in refused or "is not empty" in refused
    results = json.loads((out / "results.json").read_text())
    assert results["recipe"] == "iris_softmax"


def test_resume_refuses_a_directory_of_another_recipe(tmp_path):

    (tmp_path / "args.json").write_text(json.dumps(
        {"recipe": "mnist_dropout", "argv": ["--quick"]}))
    with pytest.raises(UsageError, match="holds a run of mnist_dropout, not mnist_mlp; "
                                         "resume it with python -m recipes run mnist_dropout"):
        recipes.run("mnist_mlp", ["--resume", str(tmp_path)])


def test_a_finished_run_removes_only_the_state_files_it_wrote(tmp_path):
    folder = tmp_path / "backup" / "model"
    folder.mkdir(parents=True)
    (folder / checkpoint.STATE_FILE).write_bytes(b"state")
    (folder / "keep.txt").write_text("not the run's")
    (tmp_path / "backup" / "other").mkdir()
    checkpoint.discard(tmp_path / "backup")
    assert files_under(tmp_path) == ["backup", "backup/model", "backup/model/keep.txt"]


def test_discard_never_follows_a_link(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / checkpoint.STATE_FILE).write_bytes(b"someone else's")
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "model").symlink_to(elsewhere)
    checkpoint.discard(tmp_path / "backup")
    assert (elsewhere / checkpoint.STATE_FILE).exists()


def test_a_comparison_that_cannot_start_leaves_no_directory(run_cli, tmp_path):
    out = tmp_path / "cmp"
    done = run_cli("-m", "tools", "compare", "--quick", "--dataset", "fashion_mnist",
                   "--out", str(out),
                   env={"RECIPES_FASHION_MNIST_DIR": str(tmp_path / "absent"),
                        "KERAS_HOME": str(tmp_path / "keras"),
                        "TFDS_DATA_DIR": str(tmp_path / "tfds")})
    one_line_error(done)
    assert not out.exists()


# --- every file read back is validated -----------------------------------------------------


def resume_with(tmp_path, config):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    return run


@pytest.mark.parametrize("change, field", [
    ({"variants": {"../../escape": {"model": {}}}}, "variants: '../../escape' does not match"),
    ({"variants": {"/etc/passwd": {"model": {}}}}, "variants: '/etc/passwd' does not match"),
    ({"variants": {"baseline": {"model": {"units": 5}}}},
     "variants.baseline.model: Additional properties"),
    ({"variants": {"baseline": {"l1": 1e-4}}}, "variants.baseline: Additional properties"),
    ({"variants": []}, "variants: [] is not of type 'object'"),
    ({"epochs": "40"}, "epochs: '40' is not of type 'integer'"),
    ({"epochs": 2.0}, "epochs: 2.0 is not of type 'integer'"),
    ({"batch_size": 0}, "batch_size: 0 is less than the minimum of 1"),
    ({"seeds": [2 ** 32]}, "seeds[0]: 4294967296 is greater than the maximum"),
    ({"variants": {"baseline": {"model": {"dropout": 1.5}}}},
     "variants.baseline.model.dropout: 1.5"),
    ({"tuning": {"rule": "r", "grid": {"l3": {"setting": "l1", "values": [1]}}}},
     "tuning.grid: 'l3' is not one of"),
    ({"tuning": {"rule": "r", "grid": {"baseline": {"setting": "l1", "values": [1]}}}},
     "tuning.grid: 'baseline' is not one of"),
    ({"variants": {"baseline": {"model": {}}, "dropout": {"model": {"dropout": 0.3}}},
      "tuning": {"rule": "r", "grid": {"dropout": {"setting": "dropout", "values": [1.0]}}}},
     "tuning: dropout: dropout value '1.0': must be >= 0 and < 1"),
    ({"variants": {"baseline": {"model": {}},
                   "early_stopping": {"model": {}, "early_stopping": {"patience": 5}}},
      "tuning": {"rule": "r", "grid": {"early_stopping": {"setting": "patience",
                                                          "values": [2.5]}}}},
     "tuning: early_stopping: patience value '2.5' is not a whole number"),
    ({"variants": {"baseline": {"model": {}}},
      "tuning": {"rule": "r", "grid": {"l1": {"setting": "l1", "values": [1e-4]}}}},
     "tuning: l1: does not match the variant it tunes"),
])
def test_a_crafted_config_is_refused_naming_the_field(tmp_path, change, field):
    run = resume_with(tmp_path, {**QUICK_CONFIG, **change})
    with pytest.raises(UsageError) as refused:
        compare.main(["--resume", str(run)])
    message = str(refused.value)
    assert str(run / "config.json") in message and field in message, message
    assert files_under(tmp_path) == ["run", "run/config.json"]


def test_a_comparison_is_not_resumed_on_another_backend(tmp_path):
    """Its runs would mix two backends' numbers in one report."""
    import keras

    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    run = resume_with(tmp_path, {**QUICK_CONFIG, "backend": other})
    with pytest.raises(UsageError, match=f"trained on the {other} backend.*--backend {other}"):
        compare.main(["--resume", str(run)])
    assert files_under(tmp_path) == ["run", "run/config.json"]


def test_nan_in_a_config_is_refused(tmp_path):
    text = json.dumps(QUICK_CONFIG).replace('"epochs": 1', '"epochs": NaN')
    with pytest.raises(UsageError, match="NaN is not a number JSON allows"):
        compare.main(["--resume", str(resume_with(tmp_path, text))])


def test_crafted_variant_name_writes_nothing_outside_through_the_cli(run_cli, tmp_path):
    run = resume_with(tmp_path, {**QUICK_CONFIG, "variants": {"../../../x": {"model": {}}}})
    line = one_line_error(run_cli("-m", "tools", "compare", "--resume", str(run)))
    assert "does not match" in line
    assert files_under(tmp_path) == ["run", "run/config.json"]


def test_a_damaged_run_record_names_its_field_and_is_trained_again(tmp_path, capsys):
    out = tmp_path / "c"
    compare.main(["--quick", "--seeds", "1", "--variants", "baseline", "--dataset",
                  "mnist-5k", "--train-size", "256", "--epochs", "1", "--out", str(out)])
    record_path = out / "runs" / "baseline-seed0.json"
    record = json.loads(record_path.read_text())
    record_path.write_text(json.dumps({**record, "test_accuracy": "0.99"}))
    capsys.readouterr()
    compare.main(["--resume", str(out)])
    printed = capsys.readouterr().out
    assert "baseline-seed0.json is damaged" in printed and "test_accuracy: '0.99'" in printed
    assert json.loads(record_path.read_text())["test_accuracy"] == record["test_accuracy"]


def test_resume_compares_the_data_itself_not_how_it_was_found(tmp_path, capsys):
    out = tmp_path / "c"
    compare.main(["--quick", "--seeds", "1", "--variants", "baseline", "--dataset",
                  "mnist-5k", "--train-size", "256", "--epochs", "1", "--out", str(out)])
    config = json.loads((out / "config.json").read_text())
    config["data"]["data_note"] = "auto: found by the network probe"  # incidental
    (out / "config.json").write_text(json.dumps(config))
    (out / "runs" / "baseline-seed0.json").unlink()
    compare.main(["--resume", str(out)])  # no refusal
    config["data"]["n_test"] = 999  # what determines the numbers
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(UsageError, match="the data differs from the saved runs' "
                                         r"\(n_test now 1000, saved 999\)"):
        compare.main(["--resume", str(out)])


def test_a_truncated_training_state_is_one_line(run_cli, tmp_path):
    import numpy as np

    folder = tmp_path / "backup" / "model"
    folder.mkdir(parents=True)
    with open(folder / checkpoint.STATE_FILE, "wb") as f:
        np.savez(f, state=np.array(json.dumps({"epoch": 1, "history": {}, "variables": 1})),
                 v0=np.zeros(3))
    whole = (folder / checkpoint.STATE_FILE).read_bytes()
    (folder / checkpoint.STATE_FILE).write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UsageError, match="saved training state .* is damaged"):
        checkpoint.read_state(folder)
    (tmp_path / "args.json").write_text(json.dumps(
        {"recipe": "iris_softmax", "argv": ["--quick"]}))
    line = one_line_error(run_cli("-m", "recipes", "run", "iris_softmax", "--resume",
                                  str(tmp_path)))
    assert "damaged" in line and "start a new run" in line


@pytest.mark.parametrize("state, message", [
    ({"epoch": "1", "history": {}, "variables": 1}, "epoch: '1' is not of type 'integer'"),
    ({"epoch": 1, "history": [], "variables": 1}, "history: [] is not of type 'object'"),
    ({"epoch": 1, "history": {}, "variables": 2}, "it holds 1 arrays, its header says 2"),
])
def test_a_crafted_training_state_is_refused(tmp_path, state, message):
    import numpy as np

    with open(tmp_path / checkpoint.STATE_FILE, "wb") as f:
        np.savez(f, state=np.array(json.dumps(state)), v0=np.zeros(3))
    with pytest.raises(UsageError, match="damaged") as refused:
        checkpoint.read_state(tmp_path)
    assert message in str(refused.value)


def test_a_pickled_array_in_a_training_state_is_refused(tmp_path):
    import numpy as np

    with open(tmp_path / checkpoint.STATE_FILE, "wb") as f:
        np.savez(f, state=np.array(json.dumps({"epoch": 1, "history": {}, "variables": 1})),
                 v0=np.array([{"code": "x"}], dtype=object))
    with pytest.raises(UsageError, match="damaged"):
        checkpoint.read_state(tmp_path)


def baseline_entry(**change):
    entry = {"recipe": "iris_softmax", "dataset": "iris", "args": [], "seeds": [0, 1],
             "n_test": 30, "data_source": "sklearn:iris",
             "variants": {"iris_softmax": {"test_accuracy": [0.9, 0.9], "mean": 0.9,
                                           "std": 0.0}}}
    entry.update(change)
    return entry


@pytest.mark.parametrize("entry, message", [
    (baseline_entry(variants={"iris_softmax": {"test_accuracy": [0.9, 0.9], "mean": 0.9}}),
     "'std' is a required property"),
    ({k: v for k, v in baseline_entry().items() if k != "dataset"},
     "'dataset' is a required property"),
    (baseline_entry(recipe="no_such_recipe"), "unknown recipe 'no_such_recipe'"),
    (baseline_entry(seeds=[0]), "2 values for 1 seeds"),
])
def test_a_malformed_baseline_entry_is_refused(tmp_path, entry, message):
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps({f"{entry['recipe']}@{entry.get('dataset')}": entry}))
    with pytest.raises(UsageError, match="restore it") as refused:
        baselines.load(path)
    assert message in str(refused.value)


def test_nan_in_a_baselines_mean_fails_check(run_cli, tmp_path):
    path = tmp_path / "baselines.json"
    path.write_text(json.dumps({"iris_softmax@iris": baseline_entry()})
                    .replace('"mean": 0.9', '"mean": NaN'))
    with pytest.raises(UsageError, match="NaN is not a number JSON allows"):
        baselines.check(path=path)


def test_two_records_at_once_keep_both_entries(tmp_path, monkeypatch):
    path = tmp_path / "baselines.json"

    def slow_entry(recipe, dataset, args, seeds=baselines.SEEDS, **options):
        time.sleep(0.3)  # both runs are training when either writes
        return baseline_entry(recipe=recipe, dataset=dataset)

    monkeypatch.setattr(baselines, "run_entry", slow_entry)
    threads = [threading.Thread(target=baselines.record, kwargs={
        "only": [name], "tiers": ("fast",), "path": path})
        for name in ("iris_softmax", "iris_l1_l2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(json.loads(path.read_text())) == ["iris_l1_l2@iris", "iris_softmax@iris"]


# --- every OS error is one line --------------------------------------------------------------


def test_a_name_too_long_is_one_line(run_cli):
    line = one_line_error(run_cli("-m", "recipes", "run", "softmax", "--out", "x" * 300))
    assert "File name too long" in line


def test_out_below_a_regular_file_is_refused_before_any_work(run_cli, tmp_path):
    (tmp_path / "plain").write_text("x")
    done = run_cli("-m", "recipes", "run", "mnist_mlp", "--dataset", "mnist-5k",
                   "--out", str(tmp_path / "plain" / "run"))
    assert "is a file, not a directory" in one_line_error(done)
    assert "data:" not in done.stdout  # refused before the data was loaded


def test_a_dangling_link_is_refused(run_cli, tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    line = one_line_error(run_cli("-m", "recipes", "run", "softmax", "--out",
                                  str(tmp_path / "link")))
    assert "is a link to nothing" in line


@pytest.mark.parametrize("code, text", [
    (errno.EROFS, "the file system is read-only"),
    (errno.EACCES, "permission denied"),
    (errno.EDQUOT, "disk quota exceeded"),
    (errno.ENAMETOOLONG, "the file name is too long"),
    (errno.ENOTDIR, "a part of the path is a file, not a directory"),
    (errno.EIO, "input/output error"),
])
def test_every_os_error_is_one_line_with_exit_2(capsys, code, text):
    def fails(argv):
        raise OSError(code, os.strerror(code), "runs/x/results.json")

    assert cli.console_main(fails) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {text} (runs/x/results.json); ") and err.count("\n") == 1


def test_a_read_only_disk_mid_comparison_keeps_the_finished_runs(tmp_path, monkeypatch,
                                                                  capsys):
    out = tmp_path / "c"
    real_write = runs.write_json
    written = []

    def read_only_after_the_first_run(path, data):
        if path.parent.name == "runs" and written:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        if path.parent.name == "runs":
            written.append(path)
        real_write(path, data)

    monkeypatch.setattr(runs, "write_json", read_only_after_the_first_run)
    code = cli.console_main(compare.main, [
        "--quick", "--seeds", "1", "--variants", "baseline,l2", "--dataset", "mnist-5k",
        "--train-size", "256", "--epochs", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: the file system is read-only")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert [p.name for p in (out / "runs").iterdir()] == ["baseline-seed0.json"]
    assert "PARTIAL REPORT" in (out / "report.md").read_text()
    assert "continue with --resume" in captured.out


def test_output_cut_short_by_a_closed_pipe_still_finishes_the_run(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECIPES_OFFLINE": "1"}
    done = subprocess.run(f"{sys.executable} -m recipes run softmax --out {tmp_path / 'r'} "
                          "| head -c 1", shell=True, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300,
                          executable="/bin/bash")
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    assert json.loads((tmp_path / "r" / "results.json").read_text())["recipe"] == "softmax"


# --- bounds, permissions, reports -------------------------------------------------------------


@pytest.mark.parametrize("flags, expected", [
    (["--seed", str(2 ** 32)], "--seed: must be at most 4294967295"),
    (["--batch-size", "100000000000000000000"], "--batch-size: must be at most 2147483647"),
    (["--epochs", str(2 ** 40)], "--epochs: must be at most 2147483647"),
])
def test_numbers_past_the_libraries_limits_are_refused(run_cli, flags, expected):
    assert expected in one_line_error(run_cli("-m", "recipes", "run", "mnist_mlp", *flags))


def test_compare_seeds_past_the_limit_are_refused_before_any_work(tmp_path):
    with pytest.raises(UsageError, match="the last seed would be 4294967297"):
        compare.main(["--seed", str(2 ** 32 - 1), "--seeds", "3", "--out", str(tmp_path / "c")])
    assert not (tmp_path / "c").exists()


def test_output_files_get_the_permissions_of_a_plain_open(tmp_path):
    previous = os.umask(0o022)
    try:
        runs.write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644


def test_markdown_tables_carry_text_not_markup():
    from tools import report

    frame = report._frame(("name", "verdict"), [["<img src=x onerror=alert(1)>|x", "helps"]])
    table = report._markdown_table(frame, verdict_column=1)
    assert "<img" not in table and "&lt;img" in table and "\\|x" in table
    assert "**helps**" in table
    page = report._html_table(frame, verdict_column=1)
    assert "<img" not in page and "&lt;img" in page and 'class="data row0 col1 helps"' in page


def test_verdicts_are_withheld_when_every_run_diverged(tmp_path):
    results = compare.main(["--quick", "--seeds", "2", "--dataset", "mnist-5k",
                            "--variants", "baseline,l1,dropout", "--train-size", "256",
                            "--learning-rate", "1e9", "--out", str(tmp_path / "c")])
    measured = [c for c in results["claims"] if c["verdict"] != "not measured"]
    assert measured and all(c["verdict"] == "withheld" for c in measured)
    assert "withheld" in (tmp_path / "c" / "report.md").read_text()


def test_keras_nan_is_shown_not_hidden(tmp_path, capsys):
    import math

    results = recipes.run("softmax", ["--logits=1e308,-1e308,0", "--out", str(tmp_path / "s")])
    assert all(math.isnan(v) for v in results["keras_max_abs_difference"].values())
    assert capsys.readouterr().out.count("Keras returned NaN") == 2
