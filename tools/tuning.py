"""Validation-chosen strengths: each regularizer's grid of candidates, and the rule that
picks one per seed.

A variant is ``{"model": build_model keywords, "early_stopping": {"patience": N}}``
(the second key only when it stops early). A grid names, for a regularizer, one of its
settings and the values to try; the fixed variant's own value is always among them, so
its run doubles as that candidate. ``choose`` sees validation accuracies and nothing
else: the choice cannot depend on the test split.
"""

from __future__ import annotations

import argparse
import copy
import math

from common import limits

SUFFIX = "_tuned"
RULE = ("for each seed, the candidate with the highest validation accuracy (a tie goes to "
        "the value listed first); the test split is not read for the choice, and is "
        "evaluated once, for the chosen model")
# What each tunable setting may be: its type and range (as the flags and build_model
# accept them).
SETTINGS = {"l1": (float, 0.0, None), "l2": (float, 0.0, None),
            "dropout": (float, 0.0, 1.0), "patience": (int, 0, limits.MAX_EPOCHS)}


def setting_of(variant: dict, setting: str):
    """The value of ``setting`` in ``variant`` (patience lives in its early stopping)."""
    if setting == "patience":
        return (variant.get("early_stopping") or {}).get("patience")
    return variant["model"].get(setting)


def with_setting(variant: dict, setting: str, value) -> dict:
    changed = copy.deepcopy(variant)
    if setting == "patience":
        changed["early_stopping"]["patience"] = value
    else:
        changed["model"][setting] = value
    return changed


# Values per regularizer a saved configuration may hold (the fixed value included).
MAX_VALUES = limits.MAX_GRID_VALUES


def candidate_name(regularizer: str, value) -> str:
    """'l1-1e-05', 'dropout-0p1', 'early_stopping-10': a run's (and file's) name. Six
    significant digits where they give the value exactly, else all of them: 1e-4 and
    1.0000001e-4 are two runs, in two files."""
    text = f"{value:g}"
    if float(text) != value:
        text = repr(value)
    return f"{regularizer}-{text}".replace(".", "p").replace("+", "")


def parse_value(setting: str, text: str):
    kind, low, high = SETTINGS[setting]
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{setting} value {text!r} is not a{' whole' if kind is int else ''} number")
    if not math.isfinite(value) or value < low or (high is not None and value >= high):
        limits = f">= {low:g}" + (f" and < {high:g}" if high is not None else "")
        raise argparse.ArgumentTypeError(f"{setting} value {text!r}: must be {limits}")
    return value


def plan(variants: dict, grid: dict) -> dict:
    """The tuning part of a comparison's configuration: for every regularizer that has a
    grid and whose fixed variant is compared, its setting and the values to try (the
    fixed value added if missing)."""
    tuned = {}
    for regularizer, row in grid.items():
        if regularizer not in variants:
            continue
        (setting, values), = row.items()
        fixed = setting_of(variants[regularizer], setting)
        tuned[regularizer] = {"setting": setting,
                              "values": list(dict.fromkeys([*values, fixed]))}
    return {"rule": RULE, "grid": tuned}


def grid_of(config: dict) -> dict:
    """A comparison configuration's grid, {} when it does not tune (``--no-tune``)."""
    return (config.get("tuning") or {}).get("grid") or {}


def tuned_names(config: dict) -> list[str]:
    """'l1_tuned', ...: the validation-chosen variants of a comparison, in grid order."""
    return [regularizer + SUFFIX for regularizer in grid_of(config)]


def candidates(variants: dict, tuning: dict | None) -> dict[str, list[tuple[str, object, dict]]]:
    """{regularizer: [(run name, value, variant settings), ...]} in grid order; the fixed
    value's run name is the fixed variant's own."""
    found = {}
    for regularizer, row in ((tuning or {}).get("grid") or {}).items():
        fixed = variants[regularizer]
        found[regularizer] = [
            (regularizer if value == setting_of(fixed, row["setting"])
             else candidate_name(regularizer, value),
             value, with_setting(fixed, row["setting"], value))
            for value in row["values"]]
    return found


def choose(val_accuracies: list) -> int:
    """Index of the highest validation accuracy (None or NaN: a diverged run, never
    chosen unless all are); the first of equals."""
    best = 0
    for i, value in enumerate(val_accuracies):
        if value is None or not math.isfinite(value):
            continue
        current = val_accuracies[best]
        if current is None or not math.isfinite(current) or value > current:
            best = i
    return best


def grid_flag(grid: dict):
    """An argparse type for ``--grid REGULARIZER=V1,V2,...``."""

    def parse(text):
        name, _, values = text.partition("=")
        name = name.strip()
        listed = [v.strip() for v in values.split(",") if v.strip()]
        if name not in grid or not listed:
            raise argparse.ArgumentTypeError(
                f"{text!r}: write REGULARIZER=V1,V2,... with REGULARIZER one of "
                f"{', '.join(grid)}")
        (setting, _), = grid[name].items()
        parsed = [parse_value(setting, v) for v in listed]
        twice = [v for i, v in enumerate(listed) if parsed[i] in parsed[:i]]
        if twice:
            raise argparse.ArgumentTypeError(
                f"{text!r}: {', '.join(twice)} repeats a value listed before it; list each "
                "value once")
        if len(parsed) > MAX_VALUES:
            raise argparse.ArgumentTypeError(
                f"{text!r}: {len(parsed)} values; a grid holds at most {MAX_VALUES} per "
                "regularizer")
        return name, parsed

    return parse
