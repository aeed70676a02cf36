"""The lecture's claims, judged: per-run rows, per-variant summaries, and the rules that
turn paired differences over seeds into verdicts. Rendering them is ``tools.report``'s job.
"""

from __future__ import annotations

import math

from tools import sequential, stats, tuning

BASELINE = "baseline"
ROW_KEYS = ("variant", "seed", "chosen", "diverged", "epochs_run", "best_epoch", "stopped_epoch",
            "train_accuracy", "val_accuracy", "test_accuracy", "gap", "train_loss",
            "val_loss", "test_loss", "near_zero_fraction", "kernel_l1", "kernel_l2",
            "max_abs_weight", "params", "seconds")
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"


def row(record: dict) -> dict:
    """One run as a flat row."""
    w = record.get("weights", {})
    out = {key: record.get(key) for key in ROW_KEYS}
    out.update({
        "chosen": ", ".join(f"{k}={v:g}" for k, v in record["chosen"].items())
        if record.get("chosen") else None,
        "gap": _minus(record.get("train_accuracy"), record.get("val_accuracy")),
        "near_zero_fraction": w.get("near_zero_fraction"), "kernel_l1": w.get("l1"),
        "kernel_l2": w.get("l2"), "max_abs_weight": w.get("max_abs"),
    })
    return out


def _minus(a, b):
    return None if a is None or b is None else a - b


def _values(rows, variant, key):
    """{seed: value} of finite values for one variant."""
    found = {}
    for r in rows:
        value = r.get(key)
        if r["variant"] == variant and value is not None and math.isfinite(value):
            found[r["seed"]] = float(value)
    return found


def _paired(rows, variant, key, reference=BASELINE):
    """Paired difference variant - reference over the seeds both have."""
    a, b = _values(rows, variant, key), _values(rows, reference, key)
    seeds = sorted(set(a) & set(b))
    return stats.paired_difference([a[s] for s in seeds], [b[s] for s in seeds])


def summarize(rows, variants) -> dict:
    summary = {}
    for variant in variants:
        mine = [r for r in rows if r["variant"] == variant]
        if not mine:
            continue
        def mean(key):
            return stats.mean_ci(list(_values(rows, variant, key).values()))["mean"]

        entry = {
            "runs": len(mine),
            "diverged": sum(1 for r in mine if r["diverged"]),
            "test_accuracy": stats.mean_ci(list(_values(rows, variant, "test_accuracy").values())),
            **{key: mean(key) for key in ("train_accuracy", "val_accuracy", "gap",
                                          "train_loss", "val_loss", "best_epoch",
                                          "near_zero_fraction", "kernel_l1", "kernel_l2",
                                          "max_abs_weight", "params", "seconds")},
            "stopped_epoch": mean("stopped_epoch"),
            "stopped_runs": sum(1 for r in mine if r["stopped_epoch"]),
        }
        if variant != BASELINE and any(r["variant"] == BASELINE for r in rows):
            entry["vs_baseline_test_accuracy"] = _paired(rows, variant, "test_accuracy")
            entry["vs_baseline_gap"] = _paired(rows, variant, "gap")
        summary[variant] = entry
    return summary


# --- The lecture's claims -------------------------------------------------------------


def ci_text(interval, scale=1.0, unit=""):
    """'+0.87 points (95% CI +0.35 to +1.38)': points (scale 100) to two decimals, other
    quantities to three significant digits."""
    number = "{:+.2f}" if scale == 100 else "{:+.3g}"
    if not math.isfinite(interval["mean"]):
        return "- (no seed where both finished)"
    if not math.isfinite(interval["ci_low"]):
        return f"{number.format(interval['mean'] * scale)}{unit} (one seed: no interval)"
    return (f"{number.format(interval['mean'] * scale)}{unit} (95% CI "
            f"{number.format(interval['ci_low'] * scale)} to "
            f"{number.format(interval['ci_high'] * scale)})")


def _verdict(direction, good):
    if direction == "unclear":
        return INCONCLUSIVE
    return SUPPORTED if direction == good else NOT_SUPPORTED


def _absent(claim, *needed):
    return {"claim": claim, "evidence": f"not measured: needs the variants {', '.join(needed)}",
            "verdict": "not measured"}


MIN_PAIRED_SEEDS = 2
WITHHELD = "withheld"


def lecture_claims(rows, summary, test_verdicts=None) -> list[dict]:
    """The lecture's claims, each with its evidence and verdict.

    A verdict rests on paired seeds where the baseline and the variant both finished
    without diverging; with fewer than ``MIN_PAIRED_SEEDS`` of them it is withheld, and
    the report says so, rather than drawn from one seed or from diverged runs.
    ``test_verdicts`` (of a sequential comparison) give the test-accuracy intervals:
    the rule's repeated intervals, not plain ones over however many seeds were run.
    """
    finished = [r for r in rows if not r["diverged"]]
    by_variant = {v["variant"]: v for v in test_verdicts or ()
                  if v["stop_reason"] != FIXED_DESIGN}
    found = _claims(finished, summary, by_variant)
    for claim, needed in zip(found, _CLAIM_VARIANTS):
        # Beside every verdict, the number a student checks it against: the variant's
        # test accuracy against the baseline's, paired over seeds.
        interval = (by_variant[needed[0]]["test_accuracy_vs_baseline"]
                    if needed and needed[0] in by_variant else
                    _paired(finished, needed[0], "test_accuracy") if needed else None)
        claim["test_accuracy_vs_baseline"] = (
            "-" if claim["verdict"] == "not measured" else
            f"{needed[0]} - baseline: {ci_text(interval, 100, ' points')}"
            if needed else "per variant: see the table below")
        if claim["verdict"] == "not measured":
            continue
        needed = needed or [v for v in summary if v != BASELINE]
        paired = min((len(set(_values(finished, v, "test_accuracy"))
                          & set(_values(finished, BASELINE, "test_accuracy"))) for v in needed),
                     default=0)
        if paired < MIN_PAIRED_SEEDS:
            claim["verdict"] = WITHHELD
            claim["evidence"] = (f"only {paired} seed(s) where the baseline and the variant "
                                 f"both finished without diverging; a verdict needs at least "
                                 f"{MIN_PAIRED_SEEDS}")
    return found


# The variants each claim of ``_claims`` compares with the baseline, in order (None: all).
_CLAIM_VARIANTS = (["l1"], ["l2"], ["dropout"], ["early_stopping"], None)


SLIDE_DROPOUT_GAIN = (0.01, 0.02)


def dropout_size(interval) -> str:
    """The measured interval against the slide's 'around 1 to 2%'."""
    low, high = SLIDE_DROPOUT_GAIN
    if interval["ci_high"] < low:
        return "less than the slide's 1-2 points"
    if interval["ci_low"] > high:
        return "more than the slide's 1-2 points"
    if low <= interval["ci_low"] and interval["ci_high"] <= high:
        return "within the slide's 1-2 points"
    return "the interval reaches into the slide's 1-2 points; too wide to say more"


def _claims(rows, summary, test_verdicts=None) -> list[dict]:
    present = set(summary)
    found = []

    claim = "L1 promotes sparsity, setting many weights to zero"
    if {"l1", BASELINE} <= present:
        d = _paired(rows, "l1", "near_zero_fraction")
        found.append({"claim": claim, "verdict": _verdict(stats.direction(d), "above"),
                      "evidence": f"near-zero weights (|w| < 1e-3), mean: baseline "
                                  f"{summary[BASELINE]['near_zero_fraction']:.1%}, L1 "
                                  f"{summary['l1']['near_zero_fraction']:.1%}; paired "
                                  f"difference {ci_text(d, 100, ' points')}"})
    else:
        found.append(_absent(claim, "l1", BASELINE))

    claim = "L2 promotes small, distributed weights"
    if {"l2", BASELINE} <= present:
        # Small: a lower kernel norm than the baseline's. Distributed: fewer weights
        # pushed to zero than L1 pushes, i.e. the weight stays spread over many inputs.
        norm = _paired(rows, "l2", "kernel_l2")
        directions = [stats.direction(norm)]
        spread = ""
        if "l1" in present:
            zeroed = _paired(rows, "l2", "near_zero_fraction", reference="l1")
            directions.append(stats.direction(zeroed))
            spread = (f"; near-zero weights L2 {summary['l2']['near_zero_fraction']:.1%} vs "
                      f"L1 {summary['l1']['near_zero_fraction']:.1%}, paired "
                      f"{ci_text(zeroed, 100, ' points')}")
        verdict = (SUPPORTED if set(directions) == {"below"} else
                   NOT_SUPPORTED if "above" in directions else INCONCLUSIVE)
        found.append({"claim": claim, "verdict": verdict,
                      "evidence": f"mean kernel l2 norm {summary[BASELINE]['kernel_l2']:.1f} -> "
                                  f"{summary['l2']['kernel_l2']:.1f}, paired "
                                  f"{ci_text(norm)}; mean largest |w| "
                                  f"{summary[BASELINE]['max_abs_weight']:.3f} -> "
                                  f"{summary['l2']['max_abs_weight']:.3f}{spread}"})
    else:
        found.append(_absent(claim, "l2", BASELINE))

    claim = "Dropout improves accuracy modestly, usually around 1 to 2%"
    if {"dropout", BASELINE} <= present:
        sequential_verdict = (test_verdicts or {}).get("dropout")
        d = (sequential_verdict["test_accuracy_vs_baseline"] if sequential_verdict
             else summary["dropout"]["vs_baseline_test_accuracy"])
        verdict = _verdict(stats.direction(d), "above")
        said = {"above": "helps", "below": "costs accuracy"}.get(stats.direction(d))
        if sequential_verdict and sequential_verdict["verdict"] == sequential.EQUIVALENT:
            verdict, said = NOT_SUPPORTED, sequential_verdict["verdict_text"]
        size = f"; {dropout_size(d)}" if said and math.isfinite(d["ci_low"]) else ""
        found.append({"claim": claim, "verdict": verdict,
                      "evidence": f"test accuracy, dropout - baseline: "
                                  f"{said + ', ' if said else ''}"
                                  f"{ci_text(d, 100, ' points')}{size}"})
    else:
        found.append(_absent(claim, "dropout", BASELINE))

    claim = "Early stopping halts training before the model learns noise"
    if {"early_stopping", BASELINE} <= present:
        entry = summary["early_stopping"]
        d = _paired(rows, "early_stopping", "val_loss")
        stopped_all = entry["stopped_runs"] == entry["runs"]
        direction = stats.direction(d)
        verdict = (NOT_SUPPORTED if entry["stopped_runs"] == 0 or direction == "above" else
                   SUPPORTED if stopped_all and direction == "below" else INCONCLUSIVE)
        found.append({"claim": claim, "verdict": verdict,
                      "evidence": f"stopped early in {entry['stopped_runs']} of {entry['runs']} "
                                  f"runs (mean stop epoch {num(entry['stopped_epoch'])}, mean "
                                  f"best epoch {num(entry['best_epoch'])}); final validation "
                                  f"loss vs the baseline's after all epochs: {ci_text(d)}. "
                                  + _early_stopping_cost(rows)})
    else:
        found.append(_absent(claim, "early_stopping", BASELINE))

    claim = "Regularization narrows the gap between training and validation accuracy"
    others = [v for v in summary if v != BASELINE]
    if others and BASELINE in present:
        parts, directions = [], []
        for variant in others:
            d = summary[variant]["vs_baseline_gap"]
            directions.append(stats.direction(d))
            parts.append(f"{variant} {ci_text(d, 100, ' points')}")
        verdict = (SUPPORTED if all(x == "below" for x in directions) else
                   NOT_SUPPORTED if "above" in directions else INCONCLUSIVE)
        narrowed = directions.count("below")
        found.append({"claim": claim, "verdict": verdict,
                      "evidence": f"mean baseline gap {summary[BASELINE]['gap'] * 100:.2f} points; "
                                  f"clearly narrower with {narrowed} of {len(others)} "
                                  f"regularizers; paired change: " + "; ".join(parts)})
    else:
        found.append(_absent(claim, "baseline and one regularized variant"))
    return found


def _early_stopping_cost(rows) -> str:
    """What stopping early did to test accuracy, beside the verdict on when it stopped."""
    d = _paired(rows, "early_stopping", "test_accuracy")
    where = ci_text(d, 100, " points")
    direction = stats.direction(d)
    if direction == "below":
        return (f"Cost: test accuracy {where} vs the baseline, significantly lower. The "
                "verdict is about when training halts (before validation loss rises); halting "
                "there did not make the model more accurate on the test set: validation loss "
                "is lowest a few epochs before accuracy peaks.")
    if direction == "above":
        return (f"Gain: test accuracy {where} vs the baseline, significantly higher: halting "
                "before the model learned noise also helped on the test set.")
    return (f"Test accuracy vs the baseline: {where}, no clear gain or cost at this number "
            "of seeds.")


# --- Test accuracy: fixed strength or validation-chosen -------------------------------

HELPS, COSTS, NO_CLEAR = "helps", "costs accuracy", "no clear difference"


def describe(settings: dict) -> str:
    """'l2=0.001, dropout=0.3, early stopping (patience 5)'; 'no regularization'."""
    parts = [f"{key}={value:g}" for key, value in settings.get("model", {}).items()]
    if settings.get("early_stopping"):
        parts.append(f"early stopping (patience {settings['early_stopping']['patience']})")
    return ", ".join(parts) or "no regularization"


UNDECIDED = "undecided"
DECIDED, MAX_SEEDS_REACHED, FIXED_DESIGN = "decided", "max seeds", "fixed design (--seeds)"
# In the sequential design the strength grid trains in the first round only (it is most
# of the round's runs); the validation-chosen variants are judged on those seeds, with a
# plain 95% interval, while the rounds go on for the slide's fixed strengths.
FIRST_ROUND = "first round only (the grid trains once)"


def _verdict_names(config) -> list[str]:
    """Each regularizer's fixed variant, then its validation-chosen one (if tuned)."""
    tuned_ones = set(tuning.tuned_names(config))
    return [n for fixed in config["variants"]
            for n in (fixed, fixed + tuning.SUFFIX)
            if (n == fixed or n in tuned_ones) and n != BASELINE]


def sequential_verdicts(rows, config, stopped: str | None = None,
                        estimate: bool = True) -> dict:
    """The sequential rule replayed look by look on the rows, for every compared
    variant whose first look is complete: {variant: {verdict (None while undecided),
    interval (the repeated confidence interval at its last look), look, seeds_used,
    stop_reason, seeds_still_needed}}.

    A variant stops at its first decided look; a later look counts only when the
    variant and the baseline both have a row for every one of its seeds. Undecided at
    the plan's last look, it stopped at MAX_SEEDS_REACHED; before it, for ``stopped``
    (the time budget) or, when that is None, because the comparison was interrupted.
    ``estimate=False`` leaves out the seeds an undecided variant would still need.
    """
    design = config["sequential"]
    sizes = sequential.looks(design["max_seeds"])
    finished = [r for r in rows if not r["diverged"]]
    present = {(r["variant"], r["seed"]) for r in rows}
    found = {}
    if BASELINE not in config["variants"]:
        return found
    for name in _verdict_names(config):
        if name.endswith(tuning.SUFFIX):
            continue  # judged on the first round's seeds (FIRST_ROUND)
        state = None
        for look, size in enumerate(sizes):
            seeds = config["seeds"][:size]
            if not all((v, s) in present for s in seeds for v in (name, BASELINE)):
                break
            mine, base = _values(finished, name, "test_accuracy"), \
                _values(finished, BASELINE, "test_accuracy")
            both = [s for s in seeds if s in mine and s in base]
            interval = sequential.repeated_interval([mine[s] - base[s] for s in both], look,
                                                    sizes, design["alpha"])
            state = {"verdict": sequential.decide(interval, design["delta"]),
                     "interval": interval, "look": look, "seeds_used": size}
            if state["verdict"]:
                break
        if state is None:
            continue
        state["stop_reason"] = (DECIDED if state["verdict"] else
                                MAX_SEEDS_REACHED if state["seeds_used"] == sizes[-1] else
                                stopped or "interrupted")
        needed = None
        if state["verdict"] is None and estimate:
            interval = state["interval"]
            total = sequential.seeds_needed(interval["mean"], interval["std"],
                                            state["seeds_used"], design["max_seeds"],
                                            design["delta"], design["alpha"])
            needed = None if total is None else total - state["seeds_used"]
        state["seeds_still_needed"] = needed
        found[name] = state
    return found


def verdict_text(verdict: str, config) -> str:
    """A verdict as the report shows it: the equivalence verdict with its delta."""
    if verdict == sequential.EQUIVALENT:
        return (f"no difference larger than {config['sequential']['delta'] * 100:g} "
                "points")
    return verdict


def test_verdicts(rows, summary, config, stopped: str | None = None) -> list[dict]:
    """For every regularized variant, fixed and validation-chosen: its paired test-accuracy
    difference to the baseline and what that says, over the seeds where both finished
    without diverging. A fixed design (--seeds N): the 95% interval over all seeds, and
    helps, costs or no clear difference. A sequential one: the rule's repeated interval
    at the look where the variant stopped, and helps, costs, no difference larger than
    delta, or undecided (with the seeds it would still need)."""
    finished = [r for r in rows if not r["diverged"]]
    design = config.get("sequential")
    states = sequential_verdicts(rows, config, stopped) if design else {}
    found = []
    for name in _verdict_names(config):
        if name not in summary or BASELINE not in summary:
            continue
        tuned = name.endswith(tuning.SUFFIX)
        if tuned:
            chosen = {r["seed"]: r["chosen"] for r in rows if r["variant"] == name}
            strength = "chosen per seed: " + "; ".join(
                f"seed {seed} {text}" for seed, text in sorted(chosen.items()))
        else:
            strength = describe(config["variants"][name])
        entry = {"variant": name,
                 "regularizer": name[:-len(tuning.SUFFIX)] if tuned else name,
                 "strength": "validation-chosen" if tuned else "fixed (the slide's)",
                 "setting": strength}
        if design and not tuned:
            state = states.get(name)
            if state is None:  # its first look is not complete (interrupted)
                continue
            d = state["interval"]
            verdict = state["verdict"] or UNDECIDED
            if d["n"] < MIN_PAIRED_SEEDS:
                verdict = WITHHELD
            entry.update({"test_accuracy_vs_baseline": d, "verdict": verdict,
                          "verdict_text": verdict_text(verdict, config),
                          "seeds_used": state["seeds_used"],
                          "stop_reason": state["stop_reason"],
                          "seeds_still_needed": state["seeds_still_needed"]})
        else:
            # A plain 95% interval: over every seed of a fixed design, or over the first
            # round's seeds for a validation-chosen variant of a sequential one.
            seen = finished
            if design:
                first = set(config["seeds"][:design["looks"][0]])
                seen = [r for r in finished if r["seed"] in first]
            d = _paired(seen, name, "test_accuracy")
            if design and d["n"] == 0:  # its first round is not complete (interrupted)
                continue
            verdict = {"above": HELPS, "below": COSTS}.get(stats.direction(d), NO_CLEAR)
            if d["n"] < MIN_PAIRED_SEEDS:
                verdict = WITHHELD
            entry.update({"test_accuracy_vs_baseline": d, "verdict": verdict,
                          "verdict_text": verdict, "seeds_used": d["n"],
                          "stop_reason": FIRST_ROUND if design else FIXED_DESIGN,
                          "seeds_still_needed": None})
        found.append(entry)
    return found


def verdict_sentence(verdicts, config=None) -> str:
    """What the test-accuracy verdicts say, in one sentence: the decided ones first."""
    if config and config.get("sequential"):
        return _sequential_sentence(verdicts, config)

    def count(kind):
        mine = [v for v in verdicts if v["strength"].startswith(kind)
                and v["verdict"] != WITHHELD]
        return _plain_counts(mine, "regularized variants ") if mine else None
    fixed, chosen = count("fixed"), count("validation")
    if fixed is None and chosen is None:
        return "Too few paired seeds for a verdict on test accuracy."
    parts = []
    if fixed:
        parts.append(f"at the slide's fixed strengths, {fixed}")
    if chosen:
        parts.append(f"at validation-chosen strengths, {chosen}")
    text = "; ".join(parts)
    return (text[0].upper() + text[1:] + " (paired differences to the baseline, 95% "
            "intervals over seeds).")


def _plain_counts(verdicts, noun: str = "") -> str:
    """'1 of 4 cost test accuracy, 0 helped and 3 made no clear difference': plain-interval
    verdicts (helps, costs accuracy or no clear difference), counted."""
    n = len(verdicts)
    helped, cost = (sum(v["verdict"] == k for v in verdicts) for k in (HELPS, COSTS))
    return (f"{cost} of {n} {noun}cost test accuracy, {helped} helped and "
            f"{n - helped - cost} made no clear difference")


def _points(interval) -> str:
    return f"{interval['mean'] * 100:+.2f} points"


def _sequential_sentence(verdicts, config) -> str:
    delta = config["sequential"]["delta"] * 100
    parts = []
    for kind, label in (("fixed", "at the slide's fixed strengths"),
                        ("validation", "at validation-chosen strengths")):
        mine = [v for v in verdicts if v["strength"].startswith(kind)]
        if not mine:
            continue
        if kind == "validation":  # a plain interval over the first round's seeds
            mine = [v for v in mine if v["verdict"] != WITHHELD]
            if mine:
                parts.append(f"{label} (the first {mine[0]['seeds_used']} seeds, plain 95% "
                             f"intervals), {_plain_counts(mine)}")
            continue
        decided = [v for v in mine if v["verdict"] in (HELPS, COSTS, sequential.EQUIVALENT)]
        said = []
        for verdict in (HELPS, COSTS):
            said += [f"{v['variant']} {verdict} ({_points(v['test_accuracy_vs_baseline'])}, "
                     f"{v['seeds_used']} seeds)" for v in decided if v["verdict"] == verdict]
        same = [v["variant"] for v in decided if v["verdict"] == sequential.EQUIVALENT]
        if same:
            names = (", ".join(same[:-1]) + " and " + same[-1]) if len(same) > 1 else same[0]
            said.append(f"{names} {'differ' if len(same) > 1 else 'differs'} by no more "
                        f"than {delta:g} points")
        text = f"{label}, {len(decided)} of {len(mine)} verdicts decided"
        if said:
            text += ": " + ", ".join(said)
        still = [v for v in mine if v not in decided]
        if still:
            text += "; undecided: " + ", ".join(
                f"{v['variant']} after {v['seeds_used']} seeds ({v['stop_reason']}"
                + (f", about {v['seeds_still_needed']} more seeds needed"
                   if v.get("seeds_still_needed") else
                   ", more than the estimate reaches" if v["verdict"] == UNDECIDED else "")
                + ")" for v in still)
        parts.append(text)
    if not parts:
        return "Too few paired seeds for a verdict on test accuracy."
    text = "; ".join(parts)
    return (text[0].upper() + text[1:] + " (paired differences to the baseline; at the "
            "fixed strengths, repeated 95% intervals, seeds added in rounds under a "
            "group-sequential rule).")


def num(value, digits=1):
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
