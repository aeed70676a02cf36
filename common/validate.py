"""Every file the project reads back is checked before use, against a JSON Schema.

A run directory can be edited, truncated or crafted; a value from it may become a file
name (a variant's name), a keyword argument (its settings) or a loop bound (epochs). So
each file is parsed strictly (NaN and Infinity, which Python's json accepts, are refused)
and checked field by field; a failure is one line that names the file, the field and
the fix, never a traceback and never a half-used file.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import jsonschema

from common import limits
from common.errors import UsageError

# What may become a file or directory name: no separators, no dots first, nothing hidden.
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

# JSON Schema counts 3.0 as an integer; Python's range() and Keras do not.
_STRICT_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool))
_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                          type_checker=_STRICT_TYPES)


def _bounded(kind: str, low=None, high=None) -> dict:
    bounds = {"minimum": low, "maximum": high}
    return {"type": kind, **{key: value for key, value in bounds.items() if value is not None}}


def _int(low=None, high=None) -> dict:
    return _bounded("integer", low, high)


def _number(low=None, high=None) -> dict:
    return _bounded("number", low, high)


_NULLABLE_NUMBER = {"type": ["number", "null"]}
_FRACTION = _number(0, 1)
SEED = _int(0, limits.MAX_SEED)

ARGS_SCHEMA = {
    "type": "object", "required": ["recipe", "argv"],
    "properties": {"recipe": {"type": "string", "pattern": SAFE_NAME},
                   "argv": {"type": "array", "items": {"type": "string"}}},
}

STATE_SCHEMA = {
    "type": "object", "required": ["epoch", "history", "variables"],
    "properties": {
        "epoch": _int(0, limits.MAX_EPOCHS),
        "variables": _int(0, 100_000),
        "history": {"type": "object",
                    "additionalProperties": {"type": "array", "items": _NULLABLE_NUMBER}},
        # Each early-stopping callback's count, best value and epoch, and how many arrays
        # its best epoch's weights take.
        "stoppers": {"type": "array", "maxItems": 16, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["wait", "stopped_epoch", "best", "best_epoch", "weights"],
            "properties": {"wait": _int(0, limits.MAX_EPOCHS),
                           "stopped_epoch": _int(0, limits.MAX_EPOCHS),
                           "best": _NULLABLE_NUMBER,
                           "best_epoch": _int(0, limits.MAX_EPOCHS),
                           "weights": _int(0, 100_000)}}},
    },
}

_MODEL_SETTINGS = {
    "type": "object", "additionalProperties": False,
    "properties": {"l1": _number(0), "l2": _number(0),
                   "dropout": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}},
}
_EARLY_STOPPING = {"type": "object", "additionalProperties": False, "required": ["patience"],
                   "properties": {"patience": _int(0, limits.MAX_EPOCHS)}}
VARIANT_SETTINGS = {
    "type": "object", "additionalProperties": False, "required": ["model"],
    "properties": {"model": _MODEL_SETTINGS,
                   "early_stopping": {"anyOf": [{"type": "null"}, _EARLY_STOPPING]}},
}
_TUNING = {
    "type": "object", "required": ["rule", "grid"],
    "properties": {
        "rule": {"type": "string"},
        "grid": {"type": "object", "propertyNames": {"enum": ["l1", "l2", "dropout",
                                                              "early_stopping"]},
                 "additionalProperties": {
                     "type": "object", "required": ["setting", "values"],
                     "additionalProperties": False,
                     "properties": {
                         "setting": {"enum": ["l1", "l2", "dropout", "patience"]},
                         "values": {"type": "array", "minItems": 1,
                                    "maxItems": limits.MAX_GRID_VALUES,
                                    "uniqueItems": True,
                                    "items": {"type": "number", "minimum": 0}}}}},
    },
}

# A sequential comparison's design (``comparison.add_seed_flags``): what its rule needs.
_SEQUENTIAL = {
    "type": "object",
    "required": ["alpha", "looks", "max_seeds", "time_budget_minutes", "delta"],
    "properties": {
        "rule": {"type": "string"},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "looks": {"type": "array", "minItems": 1, "items": _int(2, limits.MAX_SEEDS)},
        "max_seeds": _int(2, limits.MAX_SEEDS),
        "time_budget_minutes": {"type": "number", "exclusiveMinimum": 0},
        "delta": {"type": "number", "exclusiveMinimum": 0},
    },
}

COMPARE_CONFIG_SCHEMA = {
    "type": "object",
    "required": ["dataset", "variants", "seeds", "epochs", "batch_size", "train_size",
                 "patience", "steps_per_execution", "quick"],
    "properties": {
        "command": {"const": "compare"},
        "backend": {"enum": ["tensorflow", "jax"]},
        "dataset": {"type": "string"},
        "variants": {"type": "object", "minProperties": 1,
                     "propertyNames": {"pattern": SAFE_NAME},
                     "additionalProperties": VARIANT_SETTINGS},
        "seeds": {"type": "array", "minItems": 1, "maxItems": limits.MAX_SEEDS,
                  "uniqueItems": True, "items": SEED},
        "epochs": _int(1, limits.MAX_EPOCHS),
        "batch_size": {"anyOf": [{"type": "null"}, _int(1, limits.MAX_BATCH_SIZE)]},
        "train_size": _int(1),
        "patience": {"anyOf": [{"type": "null"}, _int(0, limits.MAX_EPOCHS)]},
        "tuning": {"anyOf": [{"type": "null"}, _TUNING]},
        "sequential": {"anyOf": [{"type": "null"}, _SEQUENTIAL]},
        "steps_per_execution": _int(1, limits.MAX_BATCH_SIZE),
        "quick": {"type": "boolean"},
        "tensorboard": {"type": "boolean"},
        "learning_rate": {"type": "number", "exclusiveMinimum": 0},
        "data": {"type": "object"},
    },
}

RUN_RECORD_SCHEMA = {
    "type": "object",
    "required": ["variant", "seed", "diverged", "epochs_run", "test_accuracy", "history"],
    "properties": {
        "variant": {"type": "string", "pattern": SAFE_NAME},
        "seed": SEED,
        "diverged": {"type": "boolean"},
        "epochs_run": _int(0, limits.MAX_EPOCHS),
        "best_epoch": {"anyOf": [{"type": "null"}, _int(1, limits.MAX_EPOCHS)]},
        "stopped_epoch": {"anyOf": [{"type": "null"}, _int(1, limits.MAX_EPOCHS)]},
        **{f"{split}_accuracy": {"anyOf": [{"type": "null"}, _FRACTION]}
           for split in ("train", "val")},
        "test_accuracy": {"anyOf": [{"type": "null"}, _FRACTION]},  # null: a candidate
        **{f"{split}_loss": _NULLABLE_NUMBER for split in ("train", "val", "test")},
        "history": {"type": "object",
                    "additionalProperties": {"type": "array", "items": _NULLABLE_NUMBER}},
        "weights": {"type": "object",
                    "properties": {key: _NULLABLE_NUMBER
                                   for key in ("l1", "l2", "near_zero_fraction", "max_abs")}},
        "weight_histogram": {"type": "array", "items": _int(0)},
        "params": _int(0),
        "seconds": _number(0),
    },
}

BASELINE_ENTRY_SCHEMA = {
    "type": "object",
    "required": ["recipe", "dataset", "args", "seeds", "n_test", "data_source", "variants"],
    "properties": {
        "recipe": {"type": "string", "pattern": SAFE_NAME},
        "dataset": {"type": "string"},
        "args": {"type": "array", "items": {"type": "string"}},
        "seeds": {"type": "array", "minItems": 1, "items": SEED},
        "n_test": _int(1),
        "data_source": {"type": "string"},
        "backend": {"enum": ["tensorflow", "jax"]},
        "variants": {
            "type": "object", "minProperties": 1, "propertyNames": {"pattern": SAFE_NAME},
            "additionalProperties": {
                "type": "object", "required": ["test_accuracy", "mean", "std"],
                "properties": {"test_accuracy": {"type": "array", "items": _FRACTION},
                               "mean": _FRACTION, "std": _number(0)}}},
        "versions": {"type": "object"},
    },
}
BASELINES_SCHEMA = {"type": "object", "additionalProperties": BASELINE_ENTRY_SCHEMA}

# A results.json that ``baselines check --results`` reads: one recipe's run
# (``training.finish``) or a finished comparison (``report.write``).
_RESULT_VARIANT = {"type": "object", "required": ["test_accuracy"],
                   "properties": {"test_accuracy": _FRACTION}}
RUN_RESULTS_SCHEMA = {
    "type": "object",
    "required": ["recipe", "dataset", "data_source", "n_train", "n_test", "seed",
                 "hyperparameters", "test_accuracy"],
    "properties": {
        "recipe": {"type": "string", "pattern": SAFE_NAME},
        "dataset": {"type": "string"}, "data_source": {"type": "string"},
        "n_train": _int(1), "n_test": _int(1), "seed": SEED,
        "hyperparameters": {"type": "object"},
        "test_accuracy": {"anyOf": [{"type": "null"}, _FRACTION]},  # null: a candidate
        "variants": {"type": "object", "minProperties": 1,
                     "propertyNames": {"pattern": SAFE_NAME},
                     "additionalProperties": _RESULT_VARIANT},
        "versions": {"type": "object"},
    },
}
COMPARISON_RESULTS_SCHEMA = {
    "type": "object", "required": ["partial", "config", "rows"],
    "properties": {
        "partial": {"type": "boolean"},
        "config": {**COMPARE_CONFIG_SCHEMA,
                   "required": [*COMPARE_CONFIG_SCHEMA["required"], "data"],
                   "properties": {**COMPARE_CONFIG_SCHEMA["properties"], "data": {
                       "type": "object",
                       "required": ["dataset", "data_source", "n_train", "n_test"],
                       "properties": {"dataset": {"type": "string"},
                                      "data_source": {"type": "string"},
                                      "n_train": _int(1), "n_test": _int(1)}}}},
        "rows": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["variant", "seed", "test_accuracy"],
            "properties": {"variant": {"type": "string", "pattern": SAFE_NAME},
                           "seed": SEED,
                           "test_accuracy": {"anyOf": [{"type": "null"}, _FRACTION]}}}},
        "versions": {"type": "object"},
    },
}


# The largest file read back: far above any the project writes (a comparison of 10,000
# seeds writes about 100 MB), and below what parsing it would take out of memory.
MAX_FILE_BYTES = 1 << 30
# JSON nested deeper than any file the project writes: deeper input would exhaust
# Python's recursion limit, in the parser or in the schema check.
MAX_DEPTH = 64


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as infinity
        raise ValueError(f"{text[:40]} is beyond the range of a floating-point number")
    return value


def _depth_within(text: str, limit: int) -> bool:
    """Whether the brackets of JSON ``text`` nest at most ``limit`` deep (brackets inside
    strings are skipped), checked before parsing: the parser recurses once per level."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return False
        elif token in "]}":
            depth -= 1
    return True


# A whole string (escapes included) or one bracket; strings are matched whole, a run of
# plain characters at a time, so that brackets inside them are skipped.
_BRACKETS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def parse(text: str):
    """``json.loads`` without NaN or Infinity (Python's json accepts both, and reads
    1e400 as infinity), and without nesting deeper than ``MAX_DEPTH``."""
    if not _depth_within(text, MAX_DEPTH):
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


def check(data, schema: dict, *, where: str):
    """Return ``data`` if it fits ``schema``; else UsageError '<where>: <field>: <problem>'."""
    try:
        error = jsonschema.exceptions.best_match(_Validator(schema).iter_errors(data))
    except RecursionError:  # data built in Python, not read by ``parse``
        raise UsageError(f"{where}: top level: nested too deeply")
    if error is None:
        return data
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    message = error.message if len(error.message) <= 120 else error.message[:117] + "..."
    raise UsageError(f"{where}: {field.lstrip('.') or 'top level'}: {message}")


def _deep_field(path: Path) -> str:
    """'FIELD: ' for the first field whose value opens a hundred arrays or objects."""
    try:
        found = re.search(r'"([^"\\]{1,64})"\s*:(?=(?:\s*[\[{]){100})', path.read_text())
    except (OSError, ValueError):
        return ""
    return f"{found.group(1)}: " if found else ""


def load_json(path: Path, schema: dict, *, fix: str):
    """Read and check the JSON file at ``path``; one line naming file, field and ``fix``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UsageError(f"{path} is {size / 2**30:.1f} GB, more than any file the project "
                             f"writes (at most {MAX_FILE_BYTES / 2**30:g} GB are read); {fix}")
        text = path.read_text()
        if not _depth_within(text, MAX_DEPTH):  # a crafted file: nested thousands deep
            raise UsageError(f"{path}: {_deep_field(path)}nested too deeply to be a file "
                             f"this project wrote (more than {MAX_DEPTH} levels); {fix}")
        data = parse(text)
    except OSError as error:
        raise UsageError(f"{path} cannot be read ({error.strerror or error}); {fix}")
    except ValueError as error:  # also UnicodeDecodeError
        raise UsageError(f"{path} is not valid JSON ({str(error)[:120]}); {fix}")
    try:
        return check(data, schema, where=str(path))
    except UsageError as error:
        raise UsageError(f"{error}; {fix}")

