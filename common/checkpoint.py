"""The training state ``--resume`` continues from, and stopping cleanly on Ctrl-C.

Writing a model to disk after every epoch costs about 30 ms; an 800-epoch Iris run
would spend longer saving than training. So the state after each finished epoch
(weights, optimizer, the dropout random generator, the history so far, and each
early-stopping callback's count, best value and best weights) is copied in memory,
which takes about a millisecond, and written to disk

- when ``BACKUP_SECONDS`` have passed since the last write,
- when training ends, and
- when Ctrl-C or SIGTERM stops training: the epoch that was cut short is dropped, the
  last finished one is written. An interruption never loses a finished epoch; only a
  hard kill (power cut, ``kill -9``) can lose up to ``BACKUP_SECONDS`` of training.

The state is one ``.npz`` file, replaced atomically, so a crash mid-write leaves the
previous one intact.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from common import runs, validate
from common.errors import UsageError

BACKUP_SECONDS = 10.0
STATE_FILE = "state.npz"
# A damaged state is never dropped without a word: the user decides to train again.
_OR_REMOVE = (", or remove that file: --resume then trains its model again from epoch 1, "
              "the rest goes on")


def _variables(model):
    return [*model.variables, *model.optimizer.variables]


# What an early-stopping callback has learned by the end of an epoch. A resumed run that
# started it afresh would count patience from the interruption and could restore a worse
# epoch's weights than the same run uninterrupted.
_STOPPER_FIELDS = ("wait", "stopped_epoch", "best", "best_epoch")


def _stoppers(callbacks) -> list:
    import keras

    return [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]


def _stopper_state(stopper) -> tuple[dict, list]:
    best = stopper.best
    fields = {"wait": int(stopper.wait), "stopped_epoch": int(stopper.stopped_epoch),
              "best": float(best) if best is not None and np.isfinite(best) else None,
              "best_epoch": int(stopper.best_epoch)}
    # get_weights() made new arrays: held, not copied, until the next write.
    return fields, list(stopper.best_weights or [])


def _array_names(state: dict) -> list[list[str]]:
    """The names of the arrays in a state file: the variables', then each stopper's."""
    return [[f"v{i}" for i in range(state["variables"])],
            *([f"s{j}w{k}" for k in range(stopper["weights"])]
              for j, stopper in enumerate(state.get("stoppers", [])))]


def read_state(backup_dir: Path) -> dict | None:
    """The saved state in ``backup_dir`` (keys ``epoch``, ``history``, ``arrays``), or None.

    A file that is truncated, edited or crafted is refused with one line: the state is
    checked (numbers where numbers belong, one array per variable, numeric arrays only,
    no pickled objects) before any of it reaches the model.
    """
    path = Path(backup_dir) / STATE_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        if path.is_symlink() or not path.is_file():  # the run writes a plain file
            raise ValueError("it is not a plain file")
        with np.load(path, allow_pickle=False) as saved:
            state = validate.check(validate.parse(str(saved["state"])),
                                   validate.STATE_SCHEMA, where=f"{path}: state")
            variables, *stoppers = _array_names(state)
            names = {"state", *variables, *(name for names in stoppers for name in names)}
            if set(saved.files) != names:
                raise ValueError(f"it holds {len(saved.files) - 1} arrays, its header says "
                                 f"{len(names) - 1}")
            state["arrays"] = [saved[name] for name in variables]
            for stopper, names in zip(state.get("stoppers", []), stoppers):
                stopper["best_weights"] = [saved[name] for name in names] or None
        every_array = [*state["arrays"], *(array for stopper in state.get("stoppers", [])
                                           for array in stopper["best_weights"] or [])]
        if any(array.dtype.kind not in "fiub" for array in every_array):
            raise ValueError("an array is not numeric")
        if not all(np.isfinite(array).all() for array in every_array):
            # A diverged model: resumed, it would train on NaN and pass as not diverged.
            raise ValueError("its weights hold NaN or infinity")
        # One history value per finished epoch: training goes on from ``epoch``, and the
        # whole run's curves must have one point per epoch trained.
        lengths = {len(values) for values in state["history"].values()}
        if state["epoch"] and (lengths != {state["epoch"]} or "loss" not in state["history"]):
            raise ValueError(f"its history holds {sorted(lengths) or 'no'} epochs of "
                             f"{', '.join(state['history']) or 'no metric'}, its header says "
                             f"{state['epoch']} epochs")
    except UsageError as error:
        raise UsageError(f"--resume: the saved training state is damaged ({error}); "
                         f"start a new run{_OR_REMOVE}")
    except Exception as error:  # zip, numpy and JSON each fail their own way on a bad file
        raise UsageError(f"--resume: the saved training state {path} is damaged "
                         f"({type(error).__name__}: {str(error)[:120]}); start a new "
                         f"run{_OR_REMOVE}")
    return state


def discard(backup_root: Path) -> None:
    """Remove the state files a finished run wrote under ``backup_root``, and the folders
    they leave empty; anything else found there stays."""
    backup_root = Path(backup_root)
    if not backup_root.is_dir() or backup_root.is_symlink():
        return
    # Links are never followed: what they point to was not written by the run.
    folders = [p for p in backup_root.iterdir() if p.is_dir() and not p.is_symlink()]
    for folder in folders:
        state = folder / STATE_FILE
        if state.is_file() and not state.is_symlink():
            state.unlink()
    for folder in [*folders, backup_root]:
        try:
            folder.rmdir()
        except OSError:  # not empty: something there is not the run's
            pass


def restore(model, backup_dir: Path) -> tuple[int, dict, list]:
    """Load an earlier run's state into ``model``: (epochs already finished, their history,
    the early-stopping callbacks' states, which ``callback`` hands back to them).

    (0, {}, []) when there is nothing to resume.
    """
    state = read_state(backup_dir)
    if state is None:
        return 0, {}, []
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    variables = _variables(model)
    if [tuple(v.shape) for v in variables] != [a.shape for a in state["arrays"]]:
        raise UsageError(f"--resume: the saved training state in {backup_dir} is for another "
                         "model; start a new run")
    weight_shapes = [tuple(v.shape) for v in model.weights]
    for stopper in state.get("stoppers", []):
        if stopper["best_weights"] is not None and \
                [a.shape for a in stopper["best_weights"]] != weight_shapes:
            raise UsageError(f"--resume: the saved training state in {backup_dir} is for "
                             "another model; start a new run")
    for variable, array in zip(variables, state["arrays"]):
        variable.assign(array)
    return state["epoch"], state["history"], state.get("stoppers", [])


def callback(backup_dir: Path | None = None, history: dict | None = None,
             interruption=None, callbacks=(), stoppers=()):
    """A Keras callback that, given ``backup_dir``, keeps the state of the last finished
    epoch there (see above) and, given ``interruption`` (``requested``,
    ``raise_if_requested()``), stops at the next batch on Ctrl-C or SIGTERM. Put it after ``callbacks``,
    the run's other callbacks: it saves their early-stopping callbacks' state with the
    model's.

    ``history`` and ``stoppers`` hold what ``restore`` read: the callback's ``history``
    attribute is then the whole run's, those epochs included, and each early-stopping
    callback goes on from where it was when training begins.
    """
    import keras

    watched = _stoppers(callbacks)
    if stoppers and len(stoppers) != len(watched):
        raise UsageError(f"--resume: the saved training state in {backup_dir} has "
                         f"{len(stoppers)} early-stopping callback(s), this run "
                         f"{len(watched)}; start a new run")

    class EpochCheckpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = {key: list(values) for key, values in (history or {}).items()}
            self._snapshot = None
            self._written = time.monotonic()
            self._cut_short = False

        def on_train_begin(self, logs=None):
            # Called after the early-stopping callbacks' own on_train_begin, which resets
            # them: the saved state goes back in now.
            for stopper, saved in zip(watched, stoppers):
                for field in _STOPPER_FIELDS:
                    setattr(stopper, field, saved[field])
                stopper.best_weights = saved["best_weights"]

        def on_train_batch_end(self, batch, logs=None):
            if interruption is not None and interruption.requested:
                steps = self.params.get("steps")  # per epoch; ``batch`` counts from 0
                self._cut_short = steps is None or batch + 1 < steps
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if backup_dir is not None and not self._cut_short:
                for key, value in (logs or {}).items():
                    self.history.setdefault(key, []).append(float(value))
                self._snapshot = (epoch + 1, [v.numpy() for v in _variables(self.model)],
                                  [_stopper_state(stopper) for stopper in watched])
            if interruption is not None and interruption.requested:
                # Raised here, after the last finished epoch is safe, and not as a
                # KeyboardInterrupt from inside TensorFlow, which would leave no state.
                self._write()
                interruption.raise_if_requested()
            if time.monotonic() - self._written >= BACKUP_SECONDS:
                self._write()

        def on_train_end(self, logs=None):
            self._write()
            if backup_dir is not None:  # fit returns the whole run's history
                whole = keras.callbacks.History()
                whole.set_model(self.model)
                whole.params = self.params
                whole.epoch = list(range(len(self.history.get("loss", []))))
                whole.history = {key: list(values) for key, values in self.history.items()}
                self.model.history = whole

        def _write(self):
            if backup_dir is None or self._snapshot is None:
                return
            epoch, arrays, stopper_states = self._snapshot
            state = {"epoch": epoch, "history": self.history, "variables": len(arrays),
                     "stoppers": [{**fields, "weights": len(best_weights)}
                                  for fields, best_weights in stopper_states]}
            names = _array_names(state)
            named = dict(zip(names[0], arrays))
            for stopper_names, (_, best_weights) in zip(names[1:], stopper_states):
                named.update(zip(stopper_names, best_weights))
            Path(backup_dir).mkdir(parents=True, exist_ok=True)

            def save(tmp: Path):
                with tmp.open("wb") as file:
                    np.savez(file, state=np.array(json.dumps(state)), **named)

            runs.atomic_write(Path(backup_dir) / STATE_FILE, save)
            self._snapshot = None
            self._written = time.monotonic()

    return EpochCheckpoint()
