"""Where a run's outputs go, and writing them so no reader sees half a file."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import tempfile
from pathlib import Path

from common.errors import UsageError

RUNS_DIR = Path("runs")


def check_out_dir(out: str | None) -> Path | None:
    """Validate ``--out`` before any work: not a file, not an earlier run, writable."""
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out} is a file; give a directory")
    if (path / "results.json").exists():
        raise UsageError(f"--out {out} already holds a run; choose a new directory "
                         "(earlier runs are never overwritten)")
    parent = path if path.exists() else _nearest_existing_parent(path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: {parent} is not writable; choose another directory")
    return path


def _nearest_existing_parent(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.exists():
            return parent
    return Path("/")


def make_run_dir(name: str, out: Path | None) -> Path:
    """Create the output directory: ``out``, or a new ``runs/NAME-TIMESTAMP[-N]``."""
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        return out
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in range(1000):
        candidate = RUNS_DIR / (f"{name}-{stamp}" + (f"-{suffix}" if suffix else ""))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise UsageError(f"cannot create a new directory under {RUNS_DIR}; pass --out DIR")


def save_results(name: str, out: Path | None, results: dict) -> Path:
    """Stamp ``results`` with the library versions, write it as ``results.json`` in a new
    (or the given) run directory, and say where."""
    results.setdefault("versions", library_versions())
    out_dir = make_run_dir(name, out)
    write_json(out_dir / "results.json", results)
    print(f"results: {out_dir / 'results.json'}")
    return out_dir


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)``, then rename into place: all of the file or none of it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data) -> None:
    """Standard JSON (NaN and infinity become null), written atomically."""
    text = json.dumps(_finite(data), indent=2, allow_nan=False, default=_jsonable) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def library_versions() -> dict:
    import keras
    import numpy
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": numpy.__version__}
