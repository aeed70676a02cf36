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
LOCK_FILE = ".lock"

try:  # advisory locks: released by the operating system when the process ends
    import fcntl
except ImportError:  # Windows: no locking, the other checks still apply
    fcntl = None

def _os_error(flag: str, out, error: OSError) -> UsageError:
    reason = error.strerror or str(error)
    return UsageError(f"{flag} {out}: {reason}; choose another directory")


def check_out_dir(out: str | None, resumable: bool = True, *,
                  locked_here: bool = False) -> Path | None:
    """Validate ``--out`` before any work: a new or empty directory that can be written.

    A directory that holds anything is refused (an earlier run, or the user's own files):
    a run never writes next to, or over, files it did not create. ``locked_here``: the
    caller holds its lock (checked again under it), so the lock is not another run's.
    """
    if out is None:
        return None
    if not out.strip():  # Path("") is the current folder: most often an unset variable
        raise UsageError("--out is empty (an unset variable in the command?); give a "
                         "directory, or leave --out out for a new one under runs/")
    path = Path(out)
    try:
        if path.is_symlink() and not path.exists():
            raise UsageError(f"--out {out} is a link to nothing ({os.readlink(path)}); "
                             "give a directory")
        if path.exists() and not path.is_dir():
            raise UsageError(f"--out {out} is a file; give a directory")
        if path.is_dir():
            _refuse_odd_lock(path, "--out")
            if not locked_here:
                _refuse_if_in_use(path, "--out")
            entries = sorted(p.name for p in path.iterdir() if p.name != LOCK_FILE)
            if "results.json" in entries:
                raise UsageError(f"--out {out} already holds a run; choose a new directory "
                                 "(earlier runs are never overwritten)")
            if entries:
                shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
                # The hint only where the folder holds an interrupted run's command line.
                a_run = resumable and bool({"args.json", "config.json"} & set(entries))
                raise UsageError(f"--out {out} is not empty ({shown}); give a new or empty "
                                 "directory" + (f", or --resume {out} to continue the "
                                                "interrupted run there" if a_run else ""))
        parent = path if path.exists() else _nearest_existing_parent(path)
        if not parent.is_dir():
            raise UsageError(f"--out {out}: {parent} is a file, not a directory; "
                             "choose another directory")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"--out {out}: {parent} is not writable; choose another directory")
        if not path.exists():
            _try_creating(path, parent)
    except OSError as error:  # a name too long, a loop of links, no permission to look
        raise _os_error("--out", out, error)
    return path


def _try_creating(path: Path, parent: Path) -> None:
    """Create the first folder of ``path`` that is missing, as the run will, and remove it
    again: a place where nothing can be created (``/proc/x``, where root passes
    ``os.access``) is refused now, before the data loads, not at the first epoch."""
    first_missing = parent / path.absolute().relative_to(parent).parts[0]
    try:
        first_missing.mkdir()
    except FileExistsError:  # created meanwhile by someone else: not ours to remove
        return
    first_missing.rmdir()


def _refuse_odd_lock(path: Path, flag: str) -> None:
    """A run's lock is a plain file it creates. Anything else of that name (a link, which
    opening would follow and create its target outside the directory; a folder) is not
    the run's: refused, never used."""
    lock = path / LOCK_FILE
    if lock.is_symlink():
        raise UsageError(f"{flag} {path}: its {LOCK_FILE} is a link (to {os.readlink(lock)}), "
                         "not a run's lock file; remove it or choose another directory")
    if lock.exists() and not lock.is_file():
        raise UsageError(f"{flag} {path}: its {LOCK_FILE} is not a file, so not a run's lock; "
                         "remove it or choose another directory")


def _refuse_if_in_use(path: Path, flag: str) -> None:
    """Refuse at once, before any work, a directory another run holds (``RunDirectory``)."""
    lock = path / LOCK_FILE
    if fcntl is None or not lock.is_file():
        return
    with open(lock, "rb") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise _in_use(flag, path)
        fcntl.flock(file, fcntl.LOCK_UN)


def _in_use(flag: str, path: Path) -> UsageError:
    return UsageError(f"{flag} {path} is in use by another run that is still going; "
                      "wait for it to finish or choose another directory")


def _nearest_existing_parent(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.exists():
            return parent
    return Path("/")


class RunDirectory:
    """Where one run writes: claimed once, at its first write, and let go when the
    ``with`` block it is entered in ends, however it ends.

    ``resume``: the interrupted run's directory, which ``--resume`` goes on in; else
    ``out`` (new or empty), or a new ``runs/RECIPE-TIMESTAMP[-N]``. ``argv``: for a run
    that can be resumed, the command line ``--resume`` goes on with (``args.json``).

    Claiming creates the directory and locks ``.lock`` in it (the lock is the operating
    system's, so it goes when the process ends, however it ends), which keeps every
    other run out, in this process or another; a new run also needs the directory to
    hold nothing else. Nothing is created before: a run that stops before its first
    write (no data, a model that does not fit in memory) leaves nothing behind.
    ``write_results`` writes the results, once, and lets go.
    """

    def __init__(self, recipe: str, out: Path | None = None, *, resume: Path | None = None,
                 argv: list[str] | None = None):
        self.recipe, self.out, self.resume, self.argv = recipe, out, resume, argv
        self.path: Path | None = None  # known once claimed
        self.results_written = False
        self._lock_fd: int | None = None

    @property
    def resumable(self) -> bool:
        """Whether the run keeps its state here for ``--resume``."""
        return self.argv is not None

    @property
    def claimed(self) -> bool:
        return self._lock_fd is not None

    def __enter__(self) -> "RunDirectory":
        return self

    def __exit__(self, *exception) -> None:
        self.release()

    def claim(self) -> Path:
        """The directory, claimed now if it is not yet (see the class), or one line that
        says why it cannot be: in use by another run, not empty, not writable."""
        if self.claimed:
            return self.path
        if self.path is not None:
            # Claimed before and let go (a notebook cell that failed): the folder is this
            # run's own, unless another run finished there meanwhile.
            if (self.path / "results.json").exists():
                raise UsageError(f"{self.path} holds a finished run's results now; start "
                                 "a new run")
            self._lock_fd = _lock(self.path, "--resume")
            return self.path
        if self.resume is not None:
            self.path, self._lock_fd = Path(self.resume), _lock(Path(self.resume), "--resume")
        elif self.out is not None:
            self.path, self._lock_fd = Path(self.out), _lock(Path(self.out), "--out", new=True)
        else:
            self.path, self._lock_fd = _new_under_runs(self.recipe)
        if self.argv is not None and not (self.path / "args.json").exists():
            write_json(self.path / "args.json", {"recipe": self.recipe, "argv": self.argv})
        return self.path

    def write_results(self, results: dict, *, figures: dict | None = None) -> Path:
        """The one writer of a run's results: draw ``figures`` (file name -> a function
        that draws at the path it is given) and write ``results`` (stamped with the
        library versions and the figures' names) as ``results.json``, last, then let go
        of the directory. Say where, and return the directory."""
        if self.results_written:
            raise RuntimeError(f"{self.path}: this run's results are written already")
        out_dir = self.claim()
        for file_name, draw in (figures or {}).items():
            draw(out_dir / file_name)
        if figures:
            results["figures"] = list(figures)
        results.setdefault("versions", library_versions())
        write_json(out_dir / "results.json", results)
        self.results_written = True
        self.release()
        print(f"results: {out_dir / 'results.json'}"
              + (f" (figures: {', '.join(figures)})" if figures else ""))
        return out_dir

    def release(self) -> None:
        """Let go of the directory (the run wrote all it will write, or stopped). A
        finished run's folder (its results.json written) loses its lock file too, which
        it no longer needs: any later claim there is refused by the results.json. Only
        the very file this run locked is removed, never a file or link put in its
        place."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is None:
            return
        lock = self.path / LOCK_FILE
        try:
            if (self.path / "results.json").is_file() and \
                    os.path.samestat(os.fstat(fd), os.lstat(lock)):
                lock.unlink()
        except OSError:  # gone already, or not ours to remove: the lock is only a leftover
            pass
        finally:
            os.close(fd)


def _new_under_runs(recipe: str) -> tuple[Path, int]:
    """A new ``runs/RECIPE-TIMESTAMP[-N]``, created here (so two runs started in the same
    second get two), and its lock."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        for suffix in range(1000):
            candidate = RUNS_DIR / (f"{recipe}-{stamp}" + (f"-{suffix}" if suffix else ""))
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate, _lock(candidate, "--out", new=True)
    except OSError as error:
        raise _os_error("--out", RUNS_DIR, error)
    raise UsageError(f"cannot create a new directory under {RUNS_DIR}; pass --out DIR")


def _lock(path: Path, flag: str, *, new: bool = False) -> int:
    """Create ``path`` if needed and lock its ``.lock``; the open lock file. A new run's
    directory must be new or empty, checked before and again under the lock (another
    run may have written meanwhile)."""
    if new:
        check_out_dir(str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
        _refuse_odd_lock(path, flag)
        # O_NOFOLLOW: a link put there after the check above is refused, not followed.
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                     0o666)
    except OSError as error:
        raise _os_error(flag, path, error)
    if fcntl is not None:
        try:
            # An open file's own lock: a second claim, even from this process, is refused.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise _in_use(flag, path)
    if new:
        try:
            check_out_dir(str(path), locked_here=True)
        except UsageError:
            os.close(fd)
            raise
    return fd


def saved_argv(run_dir: Path, recipe: str) -> list[str]:
    """The command line an interrupted run of ``recipe`` in ``run_dir`` was started with."""
    if not run_dir.is_dir():
        raise UsageError(f"--resume {run_dir}: no such directory; give the directory of an "
                         "interrupted run")
    if (run_dir / "results.json").exists():
        raise UsageError(f"--resume {run_dir}: that run has finished; its results.json is there")
    if not (run_dir / "args.json").exists():
        raise UsageError(f"--resume {run_dir}: no args.json there; give the directory of an "
                         "interrupted run")
    from common import validate

    saved = validate.load_json(run_dir / "args.json", validate.ARGS_SCHEMA,
                               fix="start a new run")
    if saved["recipe"] != recipe:
        raise UsageError(f"--resume {run_dir}: that directory holds a run of "
                         f"{saved['recipe']}, not {recipe}; resume it with "
                         f"python -m recipes run {saved['recipe']} --resume {run_dir}")
    return saved["argv"]


def atomic_write(path: Path, write, *, suffix: str = ".tmp") -> None:
    """Call ``write(tmp_path)``, then rename into place: all of the file or none of it.
    ``suffix`` ends the temporary name (Keras saves only to a name ending in .keras)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp makes the file private (0600); give it the permissions a plain open()
        # would, so that a teacher or a web server can read the results.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


MODEL_FILE = "model.keras"


def model_file(variant: str, main_variant: str) -> str:
    """Where a run keeps a variant's trained model: ``model.keras`` for the variant its
    results.json reports at the top level, ``model_VARIANT.keras`` for the others."""
    return MODEL_FILE if variant == main_variant else f"model_{variant}.keras"


def save_model(path: Path, model) -> None:
    """``model.save`` to a temporary name beside ``path``, then renamed into place."""
    atomic_write(path, lambda tmp: model.save(tmp), suffix=".tmp.keras")


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it, then put it back
    os.umask(mask)
    return mask


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
    """Python, the Keras backend the run used and its version, TensorFlow (where it is
    installed: a JAX machine may have none), Keras, NumPy."""
    import importlib

    import keras
    import numpy

    backend = keras.backend.backend()
    versions = {"python": platform.python_version(), "backend": backend}
    try:
        import tensorflow as tf
    except ImportError:  # a run on JAX, on a machine without TensorFlow
        pass
    else:
        versions["tensorflow"] = tf.__version__
    versions.update(keras=keras.__version__, numpy=numpy.__version__)
    if backend != "tensorflow":
        versions[backend] = importlib.import_module(backend).__version__
    return versions
