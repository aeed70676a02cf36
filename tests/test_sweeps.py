"""A comparison's cells through Dask: the same records wherever they run, none lost.

These start the real engine: a local cluster (``--workers 2``), and a ``dask scheduler``
with two ``dask worker`` processes over TCP on localhost, one of which is killed
mid-sweep.
"""

import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tools import sweep
from conftest import ROOT, one_line_error
from tools import compare

pytest.importorskip("distributed")

SMALL = ["--quick", "--dataset", "mnist-5k", "--variants", "baseline,dropout", "--seeds", "2",
         "--train-size", "512", "--epochs", "2"]


def records(out):
    """Every run record without its timing, by file name."""
    found = {}
    for path in sorted((out / "runs").glob("*.json")):
        record = json.loads(path.read_text())
        record.pop("seconds")
        found[path.name] = record
    return found


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "in-process"
    compare.main([*SMALL, "--out", str(out)])
    return records(out)


def test_local_workers_give_the_same_records(in_process, tmp_path):
    results = compare.main([*SMALL, "--workers", "2", "--out", str(tmp_path / "w")])
    assert records(tmp_path / "w") == in_process
    # 2 seeds x (baseline, dropout, two other dropout rates, the validation's choice):
    # the tuning candidates and the choice go through the workers too.
    assert len(in_process) == 10 and results["partial"] is False
    assert {"dropout_tuned-seed0.json", "dropout-0p1-seed1.json"} <= set(in_process)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """A real scheduler and two workers, one thread each, over TCP on localhost."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **sweep.WORKER_ENV}
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], env=env, cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"tcp://127.0.0.1:{port}"
    workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                 "--nthreads", "1", "--no-dashboard", "--no-nanny"],
                                env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(2)]
    from dask.distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    yield address, workers
    for process in [*workers, scheduler]:
        process.kill()
        process.wait()


def test_a_real_scheduler_gives_the_same_records(in_process, cluster, tmp_path):
    address, _ = cluster
    compare.main([*SMALL, "--scheduler", address, "--out", str(tmp_path / "s")])
    assert records(tmp_path / "s") == in_process


def test_a_worker_killed_mid_sweep_loses_no_cell(in_process, cluster, tmp_path):
    address, workers = cluster
    out = tmp_path / "k"

    def kill_a_worker_once_a_run_is_saved():
        deadline = time.monotonic() + 300
        while not list((out / "runs").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        workers[0].send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_a_worker_once_a_run_is_saved)
    killer.start()
    results = compare.main([*SMALL, "--scheduler", address, "--out", str(out)])
    killer.join()
    assert workers[0].wait(timeout=10) == -signal.SIGKILL
    assert records(out) == in_process  # every cell, each with the numbers it should have
    assert results["partial"] is False


def test_a_scheduler_that_does_not_answer_is_one_line(run_cli):
    # Dask's own default would keep trying for 30 s and more; a hang fails by timeout.
    done = run_cli("-m", "tools", "compare", *SMALL, "--scheduler",
                   f"tcp://127.0.0.1:{free_port()}", timeout=120)
    assert "no answer within 5 s" in one_line_error(done)


def test_tensorboard_logs_are_refused_with_a_remote_scheduler(run_cli):
    line = one_line_error(run_cli("-m", "tools", "compare", "--quick", "--tensorboard",
                                  "--scheduler", "tcp://127.0.0.1:1"))
    assert "--tensorboard with --scheduler" in line


def test_a_worker_leaves_pythons_random_alone_while_a_cell_runs():
    # Keras draws default initializer and Dropout seeds from Python's global `random`; a
    # plain Dask worker's heartbeats drew from it too (dask.sizeof's random.sample), so
    # the same seeded cell could get other weights. The premise first, then the fix.
    from dask.distributed import Client, LocalCluster

    def random_moves_while_the_cell_sleeps():
        before = random.getstate()
        time.sleep(3)  # a few heartbeats
        return random.getstate() != before

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as plain, Client(plain) as client:
        assert client.submit(random_moves_while_the_cell_sleeps, pure=False).result(), \
            "a plain Dask worker no longer draws from random: the plugin may go"
    with sweep._client(1, None) as client:
        assert not client.submit(random_moves_while_the_cell_sleeps, pure=False).result()


def test_the_same_seeded_model_again_and_again_in_one_worker():
    # The cell seeds Keras, waits across heartbeats, then builds with default seeds.
    def initial_weights(_shared, seed):
        import keras

        keras.utils.set_random_seed(seed)
        time.sleep(1.5)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8),
                                  keras.layers.Dropout(0.5), keras.layers.Dense(3)])
        dropout_seed = keras.ops.convert_to_numpy(model.layers[1].seed_generator.state)
        return [w.tolist() for w in model.get_weights()] + [dropout_seed.tolist()]

    here = initial_weights(None, 7)
    in_worker = [record for _, record in
                 sweep.run_cells(initial_weights, [(7,)] * 4, workers=1)]
    assert in_worker == [here] * 4


def test_local_workers_start_quiet_and_leave_ctrl_c_to_this_process():
    # A worker's own logging is set up before the cluster's `env` reaches it; without the
    # pre-spawn setting, a worker whose scheduler closes under it (Ctrl-C) logs a
    # ConnectionResetError traceback between the progress lines. And a worker that
    # caught the terminal's SIGINT itself died with a KeyboardInterrupt traceback.
    pytest.importorskip("distributed")
    with sweep._client(2, None) as client:
        levels = client.run(lambda: logging.getLogger("distributed.worker").getEffectiveLevel())
        ignore = client.run(lambda: repr(signal.getsignal(signal.SIGINT)))
    assert list(levels.values()) == [logging.CRITICAL] * 2
    assert list(ignore.values()) == [repr(signal.SIG_IGN)] * 2
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN  # this process's, restored


def test_baselines_record_through_workers_writes_what_a_sequential_record_writes(tmp_path):
    from tools import baselines

    written = {}
    for name, workers in (("sequential", None), ("workers", 2)):
        path = tmp_path / f"{name}.json"
        baselines.record(only=["iris_softmax"], tiers=("fast",), path=path, workers=workers)
        recorded_as = baselines.key("iris_softmax", "iris", baselines.running_backend())
        entry = json.loads(path.read_text())[recorded_as]
        written[name] = {k: entry[k] for k in ("variants", "seeds", "data_source", "n_test")}
    assert written["workers"] == written["sequential"]
