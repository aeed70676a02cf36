"""``baselines check --recipe-file``: train a student's copy of a recipe and score the
trained models here, where the student's code never runs.

The copy runs in a child process (``common/recipe_child.py``) in a fresh temporary
folder that ``common.sandbox`` removes afterwards, with everything the copy started.
The child saves each model the recipe evaluates on the test split; this process loads
those ``.keras`` files (Keras' safe mode: no code in them runs), checks the output shape
against the dataset's classes, and computes the test accuracy itself. What the copy's
``main`` returns, and anything it patches, stays in the child: the verdict comes from
these accuracies and this process's tolerance rule.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
from pathlib import Path

from common.errors import UsageError
from common.sandbox import Sandbox, printable

CHILD = Path(__file__).with_name("recipe_child.py")
MAX_MESSAGE = 64 * 1024


def _messages(fd: int):
    """The child's lines, until it closes its end (or sends one too long to be a
    message, which is then the last)."""
    buffer = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line
        if len(buffer) > MAX_MESSAGE:
            yield buffer
            return


def _parse(line: bytes) -> dict:
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return message if isinstance(message, dict) else {}


def _accuracy(path: Path, data) -> tuple[float | None, str]:
    """(test accuracy, '') of the saved model, or (None, why it cannot be scored)."""
    import keras
    import numpy as np

    if path.is_symlink() or not path.is_file():
        return None, "no trained model was saved"
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
        predicted = np.asarray(model.predict(data.x_test, batch_size=1024, verbose=0))
    except Exception as error:  # a model of layers Keras cannot rebuild safely
        return None, f"its model cannot be loaded ({type(error).__name__}: " \
                     f"{printable(str(error))[:120]})"
    expected_shape = (len(data.y_test), data.num_classes)
    if predicted.shape != expected_shape:
        return None, (f"its model gives outputs of shape {predicted.shape[1:]} for "
                      f"{data.num_classes} classes")
    if not np.isfinite(predicted).all():
        return math.nan, ""
    return float(np.mean(np.argmax(predicted, axis=-1) == data.y_test)), ""


def run_student_recipe(recipe_file, recipe: str, dataset: str, args: list[str],
                       seeds: list[int], variants: list[str]) -> tuple[dict, list[str]]:
    """Train the copy with ``args`` for each seed; ({variant: {mean, test_accuracy}}, notes).
    A variant whose model could not be scored has mean None (a failed row)."""
    from common.datasets import load_dataset

    path = Path(recipe_file)
    if not path.is_file():
        raise UsageError(f"--recipe-file {path}: no such file")
    with contextlib.redirect_stdout(io.StringIO()):
        data = load_dataset(dataset)  # before training: a missing dataset is one line
    runs = [[seed, [*args, "--dataset", dataset, "--seed", str(seed), "--out", f"runs/{i}"]]
            for i, seed in enumerate(seeds)]
    flags = ["-E", "-P"] if sys.version_info >= (3, 11) else ["-E"]
    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    reply_read, reply_write = os.pipe()
    per_variant = {name: [] for name in variants}
    notes, finished, problem = [], [], None
    try:
        with Sandbox([sys.executable, *flags, str(CHILD), str(path.resolve()),
                      str(reply_write), "models", json.dumps(runs)],
                     pass_fds=(reply_write,), env=env, prefix="recipe-check-") as box:
            os.close(reply_write)
            reply_write = None
            loaded = False
            for line in _messages(reply_read):
                message = _parse(line)
                event = message.get("event")
                if not loaded and event == "load_error" and isinstance(message.get("message"), str):
                    problem = printable(message["message"])[:500]
                    break
                if not loaded and event == "loaded" and set(message) == {"event"}:
                    loaded = True
                    continue
                if loaded and event == "error" and isinstance(message.get("message"), str):
                    problem = printable(message["message"])[:500]
                    break
                if loaded and event == "ran" and message.get("run") == len(finished) \
                        and set(message) == {"event", "run"}:
                    finished.append(len(finished))
                    continue
                problem = (f"{path}: the process running it sent the checker something it "
                           "did not ask for; it cannot be checked")
                break
            box.stop()
            if problem is None and len(finished) < len(runs):
                last = [line for line in box.output().splitlines() if line.strip()][-1:]
                detail = f": {printable(last[0])[:200]}" if last else ""
                where = "while loading the file" if not loaded else \
                    f"during seed {seeds[len(finished)]}"
                problem = (f"{path}: the process running it ended {where} (exit code "
                           f"{box.returncode}{detail}) before it finished; no verdict")
            if problem is None:
                for index, seed in zip(finished, seeds):
                    for number, variant in enumerate(variants):
                        accuracy, why = _accuracy(
                            box.cwd / "models" / f"{index}-{number}.keras", data)
                        per_variant[variant].append(accuracy)
                        shown = "-" if accuracy is None else f"{accuracy:.4f}"
                        print(f"  {recipe}@{dataset} seed {seed} {variant}: test {shown} "
                              f"(scored by the checker)" + (f": {why}" if why else ""),
                              flush=True)
                        if why:
                            notes.append(f"{recipe}@{dataset} {variant} seed {seed}: cannot "
                                         f"be verified: {why}")
    finally:
        for fd in (reply_read, reply_write):
            if fd is not None:
                os.close(fd)
    if problem:
        raise UsageError(problem)
    fresh = {"seeds": list(seeds), "data_source": data.source, "versions": {},
             "variants": {}}
    for variant, values in per_variant.items():
        verified = None not in values and values
        fresh["variants"][variant] = {
            "test_accuracy": values,
            "mean": sum(values) / len(values) if verified else None}
    return fresh, notes
