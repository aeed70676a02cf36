"""The comparison report: the rows, summary and claims of ``tools.claims``, rendered.

``write(out_dir, config, records, partial)`` writes results.csv (one row per run),
results.json (rows, summary, claims, configuration), report.md, and report.html (one
self-contained file, figures embedded), plus the figures as PNG files.
"""

from __future__ import annotations

import base64
import datetime
import html
import math

import numpy as np

from common import plots, runs, weights
from tools import claims, tuning

def _verdict_rows(verdicts) -> list[list[str]]:
    return [[v["regularizer"], v["strength"], v["setting"],
             claims.ci_text(v["test_accuracy_vs_baseline"], 100), str(v["seeds_used"]),
             v["stop_reason"], _still_needed(v), v["verdict_text"]] for v in verdicts]


def _still_needed(verdict) -> str:
    """The seeds an undecided verdict would still need at the spread seen so far."""
    if verdict["verdict"] != claims.UNDECIDED:
        return "-"
    needed = verdict["seeds_still_needed"]
    return f"about {needed}" if needed else "more than the estimate reaches (64 in all)"


VERDICT_COLUMNS = ("regularizer", "strength", "setting",
                   "test vs baseline, points (paired mean, 95% CI)", "seeds used",
                   "stopped because", "more seeds needed (estimate)",
                   "verdict on test accuracy")
SEQUENTIAL_NOTE = ("Seeds were added in rounds, and a variant stopped training once its "
                   "verdict was decided: helps or costs accuracy when its interval excludes "
                   "zero, no difference larger than delta when the whole interval lies inside "
                   "+-delta. The intervals are repeated confidence intervals of a "
                   "group-sequential rule: wider than a one-look 95% interval, so that looking "
                   "after every round still leaves at most a 5% chance of a wrong verdict. An "
                   "undecided variant ran out of seeds or time; the estimate says how many "
                   "more seeds its interval would need to decide if the mean and spread seen "
                   "so far held. The strength grid, most of a round's runs, trains in the "
                   "first round only: the validation-chosen rows are judged on those seeds, "
                   "with plain 95% intervals. See docs/comparison.md.")
TUNING_NOTE = ("A regularizer's strength is a hyperparameter: at a strength that does not "
               "suit the data it can look useless or harmful. The validation-chosen rows pick, "
               "for each seed, one strength from a small grid by validation accuracy alone; the "
               "test split is read once, for the chosen model, so their test accuracy is an "
               "honest estimate.")



# --- Figures --------------------------------------------------------------------------


def _mean_curves(records, variant):
    histories = [r["history"] for r in records if r["variant"] == variant]
    curves = {}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        series = [h[key] for h in histories if key in h]
        if not series:
            continue
        length = max(len(s) for s in series)
        curves[key] = [float(np.mean([s[i] for s in series if len(s) > i]))
                       for i in range(length)]
    return curves


def figures(out_dir, records, summary) -> dict:
    variants = list(summary)
    drawn = {}
    curves = {v: _mean_curves(records, v) for v in variants}
    marks = {v: summary[v]["stopped_epoch"] for v in variants
             if math.isfinite(summary[v]["stopped_epoch"] or math.nan)}
    drawn["learning_curves.png"] = plots.small_multiples(
        curves, out_dir / "learning_curves.png",
        reference=claims.BASELINE if claims.BASELINE in curves else None, marks=marks)
    shown = [v for v in (claims.BASELINE, "l1", "l2")
             if any(r["variant"] == v and "weight_histogram" in r for r in records)]
    if shown:
        counts = {v: np.sum([r["weight_histogram"] for r in records
                             if r["variant"] == v and "weight_histogram" in r], axis=0)
                  for v in shown}
        drawn["weights.png"] = plots.histogram_counts(
            counts, weights.HISTOGRAM_EDGES, out_dir / "weights.png",
            title="Kernel weights, all seeds (values beyond +-0.3 in the end bins)")
    points = {v: [r["test_accuracy"] for r in records if r["variant"] == v
                  and not r.get("diverged") and r.get("test_accuracy") is not None]
              for v in variants}
    drawn["accuracy.png"] = plots.interval_plot(
        {v: summary[v]["test_accuracy"] for v in variants}, out_dir / "accuracy.png",
        ylabel="test accuracy (%)", points=points, reference=claims.BASELINE)
    return drawn


LOOK_FOR = "What to look for:"


def captions(summary, config) -> dict:
    """Under each figure: what it shows, and what to look for in it."""
    b = summary.get(claims.BASELINE)
    overfit = (f"the baseline's training accuracy reaches {b['train_accuracy']:.1%} while its "
               f"validation accuracy ends at {b['val_accuracy']:.1%}, a gap of "
               f"{b['gap'] * 100:.1f} points: overfitting. " if b and _finite(b["gap"]) else "")
    stops = ("The red dotted line is the mean epoch at which early stopping halted; after "
             "the first run stops, a curve averages only the runs still training. "
             if any(_finite(s["stopped_epoch"]) for s in summary.values()) else "")
    zero = ""
    if {"l1", claims.BASELINE} <= set(summary) and _finite(summary["l1"]["near_zero_fraction"]):
        zero = (f" (mean near-zero fraction: L1 {summary['l1']['near_zero_fraction']:.1%}, "
                f"baseline {summary[claims.BASELINE]['near_zero_fraction']:.1%})")
    return {
        "learning_curves.png":
            "Accuracy per epoch, mean over seeds, one panel per variant on the same axes: "
            "training solid (blue), validation dashed (orange); the grey dashed line in "
            "every other panel is the baseline's validation accuracy. What to look for: the "
            f"space between a panel's two curves is the overfitting gap; {overfit}A "
            "regularizer works when its training curve sits lower and closer to its "
            "validation curve, and its validation curve at or above the grey line. " + stops,
        "weights.png":
            "Kernel weights of all seeds pooled, counts on a log scale. What to look for: "
            f"L1 piles weights into the bin at zero, a spike the others lack: sparsity{zero}; "
            "L2 narrows the whole distribution, small weights spread over many inputs, with "
            "no spike.",
        "accuracy.png":
            "Test accuracy per variant in percent: the mean over seeds with its 95% "
            "confidence interval (blue), each seed's score (orange dots), and the baseline's "
            "mean (dashed line). What to look for: where each variant sits against the "
            "dashed line. These intervals are of each mean alone; whether a variant beats the "
            "baseline is read from the paired differences in the table, which are narrower, "
            "because seed s starts every variant from the same weights. An interval of zero "
            "width means every seed scored the same (see the note under the table).",
    }


def _finite(value) -> bool:
    return value is not None and math.isfinite(value)


# --- Writers --------------------------------------------------------------------------

UNITS = ("Accuracies are in percent (%), differences of accuracy in percentage points "
         "(points); every value is the mean over the variant's seeds unless it says "
         "otherwise.")
SUMMARY_COLUMNS = ("variant", "runs", "test accuracy, % (mean ± std)",
                   "95% CI of the mean, %", "test vs baseline, points (paired mean, 95% CI)",
                   "training accuracy, % (mean)", "validation accuracy, % (mean)",
                   "gap, points (mean)", "mean best epoch", "mean stop epoch (runs stopped)",
                   "near-zero weights, % (mean)", "kernel l1 (mean)", "kernel l2 (mean)",
                   "seconds (mean)")
ZERO_WIDTH = "zero width, see note"


def _pct(value, digits=2):
    return "-" if not _finite(value) else f"{value * 100:.{digits}f}"


def _zero_width(interval) -> bool:
    return (interval is not None and interval.get("n", 0) >= 2
            and _finite(interval["ci_low"])
            and interval["ci_high"] - interval["ci_low"] < 1e-9)  # equal but for rounding


def summary_table(summary) -> list[list[str]]:
    table = []
    for variant, s in summary.items():
        acc = s["test_accuracy"]
        ci = ("-" if not _finite(acc["ci_low"]) else
              f"{acc['ci_low'] * 100:.2f} - {acc['ci_high'] * 100:.2f}"
              + (f" ({ZERO_WIDTH})" if _zero_width(acc) else ""))
        versus = s.get("vs_baseline_test_accuracy")
        stopped = ("-" if not s["stopped_runs"] else
                   f"{claims.num(s['stopped_epoch'])} ({s['stopped_runs']} of {s['runs']})")
        table.append([
            variant + (f" ({s['diverged']} diverged)" if s["diverged"] else ""), str(s["runs"]),
            f"{_pct(acc['mean'])} ± {_pct(acc['std'])}", ci,
            (claims.ci_text(versus, 100) + (f" ({ZERO_WIDTH})" if _zero_width(versus) else ""))
            if versus else "-",
            _pct(s["train_accuracy"]), _pct(s["val_accuracy"]), _pct(s["gap"]),
            claims.num(s["best_epoch"]), stopped, _pct(s["near_zero_fraction"], 1),
            claims.num(s["kernel_l1"], 0), claims.num(s["kernel_l2"], 2), claims.num(s["seconds"]),
        ])
    return table


def zero_width_notes(summary, n_test) -> list[str]:
    """Why an interval has zero width, and what it does not mean, for each one that does."""
    notes = []
    for variant, s in summary.items():
        acc = s["test_accuracy"]
        if _zero_width(acc):
            p = acc["mean"]
            images = f" ({round(p * n_test)} of {n_test} test images each)" if n_test else ""
            sampling = (f", and {n_test} test images alone leave about ±"
                        f"{1.96 * math.sqrt(p * (1 - p) / n_test) * 100:.2f} points of sampling "
                        "uncertainty (95%, binomial) around any one score" if n_test else "")
            notes.append(f"{variant}: all {acc['n']} seeds scored {p * 100:.2f}%{images}, so "
                         "the spread over seeds, and with it the 95% interval, is zero. That "
                         "is agreement between seeds, not certainty: the interval measures "
                         f"only seed-to-seed variation{sampling}.")
        versus = s.get("vs_baseline_test_accuracy")
        if _zero_width(versus):
            notes.append(f"{variant} - baseline: the paired difference was "
                         f"{versus['mean'] * 100:+.2f} points for every one of the "
                         f"{versus['n']} seeds, so its interval has zero width; more seeds "
                         "could still differ.")
    return notes


def baseline_paragraph(b: dict) -> str:
    return (f"The unregularized baseline ends at {b['train_accuracy']:.1%} training and "
            f"{b['val_accuracy']:.1%} validation accuracy (means over seeds): a gap of "
            f"{b['gap'] * 100:.1f} points, the overfitting the regularizers address.")


def _frame(header, rows):
    """A table, built once: Markdown, HTML and the console render the same frame."""
    import pandas as pd

    return pd.DataFrame(rows, columns=list(header), dtype=object)


def _markdown_table(frame, verdict_column=None) -> str:
    # Cells are text, never markup: escape HTML and the table's own separator.
    def text(cell):
        return html.escape(str(cell), quote=False).replace("|", "\\|")

    shown = frame.map(text).rename(columns=text)
    if verdict_column is not None and len(shown):
        shown.iloc[:, verdict_column] = "**" + shown.iloc[:, verdict_column] + "**"
    return shown.to_markdown(index=False, tablefmt="pipe", disable_numparse=True)


def _setup_lines(config) -> list[str]:
    data = config["data"]
    variants = "; ".join(f"{name}: {claims.describe(settings)}"
                         for name, settings in config["variants"].items())
    grid = tuning.grid_of(config)
    tuned = ("Validation-chosen strengths: " + "; ".join(
        f"{name}: {row['setting']} in {', '.join(f'{v:g}' for v in row['values'])}"
        for name, row in grid.items()) + f"; rule: {config['tuning']['rule']}"
        if grid else "Validation-chosen strengths: not computed (--no-tune)")
    return [
        f"Data: {data['dataset']} from {data['data_source']}, {data['n_train']} training / "
        f"{data['n_val']} validation / {data['n_test']} test examples"
        + (f" ({data['data_note']})" if data.get("data_note") else ""),
        _seeds_line(config),
        f"Training: up to {config['epochs']} epochs, batch {config['batch_size']}, "
        f"Adam {config.get('learning_rate', 1e-3):g}; early stopping on validation "
        "cross-entropy, best epoch's weights restored"
        + (" (quick mode)" if config.get("quick") else ""),
        f"Variants at the slide's strengths: {variants}",
        tuned,
        _backend_line(config),
    ]


def _seeds_line(config) -> str:
    paired = "paired: seed s gives every variant the same initial weights and batches"
    design = config.get("sequential")
    if not design:
        return f"Seeds: {', '.join(map(str, config['seeds']))} ({paired}; a fixed design)"
    return (f"Seeds: added in rounds, looking at {', '.join(map(str, design['looks']))} "
            f"seeds ({paired}); at most {design['max_seeds']} seeds (--max-seeds) and "
            f"{design['time_budget_minutes']:g} minutes (--time-budget); delta "
            f"{design['delta'] * 100:g} points (--delta); rule: {design['rule']}")


def _backend_line(config) -> str:
    """'Backend: JAX 0.10.2 (Keras 3.15.1)': what trained the runs."""
    versions = runs.library_versions()
    backend = config.get("backend") or versions["backend"]
    name = {"tensorflow": "TensorFlow", "jax": "JAX"}.get(backend, backend)
    return (f"Backend: {name} {versions.get(backend, '')} (Keras {versions['keras']}); "
            f"the same seed gives the same numbers on one backend, not across backends")


def _command(config) -> str:
    return (f"python -m tools compare --dataset {config['dataset']} "
            + (f"--backend {config['backend']} " if config.get("backend") else "")
            + f"--variants {','.join(config['variants'])} {_design_flags(config)} "
            f"--seed {config['seeds'][0]} --epochs {config['epochs']} "
            f"--train-size {config['train_size']} --batch-size {config['batch_size']} "
            + (f"--patience {config['patience']} " if config.get("patience") is not None
               else "")
            + f"--learning-rate {config.get('learning_rate', 1e-3):g}"
            + "".join(f" --grid {name}={','.join(f'{v:g}' for v in row['values'])}"
                      for name, row in tuning.grid_of(config).items())
            + ("" if config.get("tuning") else " --no-tune")
            + (" --quick" if config.get("quick") else ""))


def _design_flags(config) -> str:
    design = config.get("sequential")
    if not design:
        return f"--seeds {len(config['seeds'])}"
    return (f"--max-seeds {design['max_seeds']} --time-budget "
            f"{design['time_budget_minutes']:g} --delta {design['delta'] * 100:g}")


CLAIM_COLUMNS = ("claim", "evidence", "test accuracy vs baseline (paired, 95% CI)",
                 "verdict")
CLAIMS_NOTE = ("Verdicts use 95% confidence intervals of paired differences over seeds: an "
               "interval that includes zero is inconclusive at this number of seeds. A "
               "verdict is about the claim as the slide states it; the test-accuracy column "
               "beside it shows what the same variant did to test accuracy, which can "
               "disagree (early stopping can halt as claimed and still cost accuracy).")
GAP_NOTE = ("gap = training minus validation accuracy at the end; losses include any "
            "penalty, so accuracy is the fair comparison.")


def _claim_rows(found) -> list[list[str]]:
    return [[c["claim"], c["evidence"], c.get("test_accuracy_vs_baseline", "-"), c["verdict"]]
            for c in found]


def build_tables(summary, found, verdicts) -> dict:
    """The report's three tables, each (frame, the column of verdicts or None)."""
    return {"verdicts": (_frame(VERDICT_COLUMNS, _verdict_rows(verdicts)),
                         len(VERDICT_COLUMNS) - 1),
            "claims": (_frame(CLAIM_COLUMNS, _claim_rows(found)), 3),
            "summary": (_frame(SUMMARY_COLUMNS, summary_table(summary)), None)}


def markdown(config, summary, found, verdicts, figure_names, partial) -> str:
    tables = build_tables(summary, found, verdicts)
    parts = ["# Regularization comparison", ""]
    if partial:
        parts += ["**PARTIAL REPORT: the comparison was interrupted; only finished runs are "
                  "counted. Continue it with `--resume`.**", ""]
    parts += ["## Setup", ""] + [f"- {html.escape(line, quote=False)}"
                                  for line in _setup_lines(config)]
    parts += ["", UNITS]
    if claims.BASELINE in summary:
        parts += ["", baseline_paragraph(summary[claims.BASELINE])]
    parts += ["", "## Test accuracy: the slide's strength or the validation's choice", "",
              claims.verdict_sentence(verdicts, config), "",
              _markdown_table(*tables["verdicts"]), ""]
    if config.get("sequential"):
        parts += [SEQUENTIAL_NOTE, ""]
    parts += [TUNING_NOTE]
    parts += ["", "## The lecture's claims", "", _markdown_table(*tables["claims"]),
              "", CLAIMS_NOTE,
              "", "## Per variant", "", _markdown_table(*tables["summary"]),
              "", GAP_NOTE]
    notes = zero_width_notes(summary, config.get("data", {}).get("n_test"))
    if notes:
        parts += ["", "Zero-width intervals:", ""] + [f"- {html.escape(n, quote=False)}"
                                                        for n in notes]
    parts += ["", "## Figures", ""]
    texts = captions(summary, config)
    for number, name in enumerate(figure_names, start=1):
        parts += [f"![{name}]({name})", "",
                  f"*Figure {number}. {html.escape(texts.get(name, ''), quote=False)}*", ""]
    parts += ["## Reproduce", "", f"    {_command(config)}", ""]
    return "\n".join(parts)


HTML_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
.wide { overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.supported { color: #1a7f37; font-weight: bold; }
.not-supported { color: #b42318; font-weight: bold; }
.inconclusive, .not-measured, .withheld, .no-clear-difference { color: #9a6700;
  font-weight: bold; }
.helps { color: #1a7f37; font-weight: bold; }
td[class*="no-difference-larger"] { color: #1f4e99; font-weight: bold; }
.undecided { color: #9a6700; font-weight: bold; }
.costs-accuracy { color: #b42318; font-weight: bold; }
.partial { background: #fff4e5; border: 2px solid #b54708; padding: 0.8em; font-weight: bold; }
img { max-width: 100%; display: block; margin: 1em 0 0.3em 0; }
figure { margin: 1.5em 0; }
figcaption { max-width: 60em; font-size: 0.95em; color: #333; }
.note { max-width: 60em; }
code { background: #f5f5f5; padding: 0.2em 0.4em; }
"""

# Marks the page once every image has loaded, so a browser test can check for broken ones.
HTML_CHECK = """
window.addEventListener("load", function () {
  var images = Array.from(document.images);
  document.body.setAttribute("data-images", images.length);
  document.body.setAttribute("data-images-ok",
    images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length);
  // Where each figure is drawn on the page (x,y,width,height in CSS pixels), and the
  // page's height: a screenshot test looks inside these boxes.
  document.body.setAttribute("data-figure-boxes", images.map(function (i) {
    var r = i.getBoundingClientRect();
    return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]
      .map(Math.round).join(",");
  }).join(";"));
  document.body.setAttribute("data-page-height", document.documentElement.scrollHeight);
});
"""


def _html_table(frame, verdict_column=None) -> str:
    """``frame`` as an HTML table, every cell and heading escaped; the cells of
    ``verdict_column`` get their verdict as a CSS class (coloured by HTML_STYLE)."""
    styler = (frame.style.hide(axis="index").format(escape="html")
              .format_index(escape="html", axis=1))
    if verdict_column is not None:
        classes = frame.copy()
        classes.loc[:, :] = ""
        classes.iloc[:, verdict_column] = frame.iloc[:, verdict_column].str.replace(" ", "-")
        styler = styler.set_td_classes(classes)
    return styler.to_html()


def html_page(config, summary, found, verdicts, figure_paths, partial) -> str:
    tables = build_tables(summary, found, verdicts)
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             "<title>Regularization comparison</title>", f"<style>{HTML_STYLE}</style>",
             f"<script>{HTML_CHECK}</script>", "</head>", "<body>",
             "<h1>Regularization comparison</h1>"]
    if partial:
        parts.append('<p class="partial">PARTIAL REPORT: the comparison was interrupted; only '
                     "finished runs are counted. Continue it with --resume.</p>")
    parts += ["<h2>Setup</h2>", "<ul>"]
    parts += [f"<li>{esc(line)}</li>" for line in _setup_lines(config)]
    parts += ["</ul>", f'<p class="note">{esc(UNITS)}</p>']
    if claims.BASELINE in summary:
        parts.append(f"<p>{esc(baseline_paragraph(summary[claims.BASELINE]))}</p>")
    parts += ["<h2>Test accuracy: the slide's strength or the validation's choice</h2>",
              f"<p><b>{esc(claims.verdict_sentence(verdicts, config))}</b></p>",
              _html_table(*tables["verdicts"])]
    if config.get("sequential"):
        parts.append(f'<p class="note">{esc(SEQUENTIAL_NOTE)}</p>')
    parts += [f'<p class="note">{esc(TUNING_NOTE)}</p>']
    parts += ["<h2>The lecture's claims</h2>",
              _html_table(*tables["claims"]),
              f'<p class="note">{esc(CLAIMS_NOTE)}</p>',
              "<h2>Per variant</h2>",
              f'<div class="wide">{_html_table(*tables["summary"])}</div>',
              f'<p class="note">{esc(GAP_NOTE)}</p>']
    notes = zero_width_notes(summary, config.get("data", {}).get("n_test"))
    if notes:
        parts += ['<div class="note" id="zero-width"><p>Zero-width intervals:</p><ul>']
        parts += [f"<li>{esc(note)}</li>" for note in notes]
        parts.append("</ul></div>")
    parts.append("<h2>Figures</h2>")
    texts = captions(summary, config)
    for number, (name, path) in enumerate(figure_paths.items(), start=1):
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        caption = esc(texts.get(name, "")).replace(LOOK_FOR, f"<b>{LOOK_FOR}</b>")
        parts += ["<figure>", f'<img alt="{esc(name)}" src="data:image/png;base64,{encoded}">',
                  f"<figcaption><b>Figure {number}.</b> {caption}</figcaption>", "</figure>"]
    parts += ["<h2>Reproduce</h2>", f"<p><code>{esc(_command(config))}</code></p>",
              f"<p>Written {datetime.datetime.now().isoformat(timespec='seconds')}.</p>",
              "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def design(config, stopped=None) -> dict:
    """How the seeds were chosen: a fixed number, or the sequential rule and its budget."""
    plan = config.get("sequential")
    if not plan:
        return {"kind": "fixed", "seeds": len(config["seeds"])}
    return {"kind": "sequential", "rule": plan["rule"], "alpha": plan["alpha"],
            "looks": plan["looks"], "max_seeds": plan["max_seeds"],
            "time_budget_minutes": plan["time_budget_minutes"],
            "delta_points": plan["delta"] * 100, "stopped_by": stopped}


def write(out_dir, config, records, *, partial=False, stopped=None) -> dict:
    """``stopped``: what ended a sequential comparison's rounds early ("time budget"),
    else None."""
    import pandas as pd

    rows = [claims.row(r) for r in records]
    summary = claims.summarize(rows, [*config["variants"], *tuning.tuned_names(config)])
    verdicts = claims.test_verdicts(rows, summary, config, stopped)
    # The claims are the slide's, about its strengths: the fixed variants only.
    found = claims.lecture_claims(rows, {name: entry for name, entry in summary.items()
                                         if name in config["variants"]}, verdicts)
    figure_paths = figures(out_dir, records, summary) if records else {}
    chosen = {}
    for r in records:
        if r.get("chosen"):
            chosen.setdefault(r["variant"], {})[str(r["seed"])] = r["chosen"]
    results = {"partial": partial, "config": config, "summary": summary, "claims": found,
               "design": design(config, stopped), "test_verdicts": verdicts,
               "verdict": claims.verdict_sentence(verdicts, config),
               "chosen": chosen, "rows": rows, "versions": runs.library_versions()}
    frame = pd.DataFrame(rows, columns=claims.ROW_KEYS)
    runs.atomic_write(out_dir / "results.csv", lambda tmp: frame.to_csv(tmp, index=False))
    runs.write_json(out_dir / "results.json", results)
    text = markdown(config, summary, found, verdicts, list(figure_paths), partial)
    runs.atomic_write(out_dir / "report.md", lambda tmp: tmp.write_text(text))
    page = html_page(config, summary, found, verdicts, figure_paths, partial)
    runs.atomic_write(out_dir / "report.html", lambda tmp: tmp.write_text(page))
    print()
    print(_markdown_table(_frame(("claim", "verdict"),
                                 [[c["claim"], c["verdict"]] for c in found])))
    print()
    print(_markdown_table(_frame(("variant", "strength", "test vs baseline, points", "seeds",
                                  "stopped because", "verdict"),
                                 [[v["variant"], v["setting"],
                                   claims.ci_text(v["test_accuracy_vs_baseline"], 100),
                                   str(v["seeds_used"]), v["stop_reason"], v["verdict_text"]]
                                  for v in verdicts])))
    print(claims.verdict_sentence(verdicts, config))
    return results
