"""Sweep throughput: the same comparison in this process, and through Dask workers.

    python -m benchmarks.sweep [--variants ...] [--seeds N] [--epochs N] [--workers 1,2]

Each configuration runs ``python -m tools compare`` in a fresh process (start-up,
data loading and the workers' start included, as a user sees it) and prints cells per
minute, the speed-up over the in-process run, and the scheduling overhead per cell
(``--workers 1`` against in-process: the same work on one core, plus Dask). Timings
depend on what else the machine runs: measure on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_compare(extra: list[str], common: list[str]) -> tuple[float, dict]:
    """Wall seconds of one comparison in a fresh process, and its run records."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "c"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tools", "compare", *common, *extra,
                        "--out", str(out)], check=True, env=env, cwd=scratch,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        runs = {p.name: {k: v for k, v in json.loads(p.read_text()).items() if k != "seconds"}
                for p in (out / "runs").glob("*.json")}
    return seconds, runs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep",
                                     description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--variants", default="baseline,l1,l2,l1l2,dropout,early_stopping,"
                                              "combined", help="compare --variants")
    parser.add_argument("--seeds", type=int, default=2, help="compare --seeds")
    parser.add_argument("--epochs", type=int, default=10, help="compare --epochs")
    parser.add_argument("--dataset", default="mnist-5k", help="compare --dataset")
    parser.add_argument("--workers", default="1,2",
                        help="comma-separated worker counts to time besides in-process")
    parser.add_argument("--tune", action=argparse.BooleanOptionalAction, default=True,
                        help="compare --tune: the validation-chosen strengths' runs too")
    args = parser.parse_args(argv)
    common = ["--dataset", args.dataset, "--variants", args.variants, "--seeds",
              str(args.seeds), "--epochs", str(args.epochs), "--offline",
              "--tune" if args.tune else "--no-tune"]
    base_seconds, base_runs = run_compare(["--workers", "0"], common)
    # A cell is one trained run; a validation-chosen record (NAME_tuned) trains nothing.
    cells = sum(1 for name in base_runs if "_tuned-seed" not in name)
    print(f"{cells} cells ({args.variants}{', tuned' if args.tune else ''}; {args.seeds} "
          f"seeds; {args.epochs} epochs on {args.dataset}); {os.cpu_count()} cores")
    print(f"{'how':<22} {'seconds':>8} {'cells/min':>10} {'speed-up':>9}  same records")
    print(f"{'in process':<22} {base_seconds:>8.1f} {cells / base_seconds * 60:>10.2f} "
          f"{1.0:>9.2f}  -", flush=True)
    for workers in (int(w) for w in args.workers.split(",")):
        seconds, runs = run_compare(["--workers", str(workers)], common)
        print(f"{'--workers ' + str(workers):<22} {seconds:>8.1f} {cells / seconds * 60:>10.2f} "
              f"{base_seconds / seconds:>9.2f}  {runs == base_runs}", flush=True)
        if workers == 1:
            print(f"  scheduling overhead: {(seconds - base_seconds) / cells:+.2f} s per cell "
                  "(worker start-up included)")


if __name__ == "__main__":
    main()
