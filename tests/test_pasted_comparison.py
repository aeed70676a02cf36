"""The pasted L1/L2 comparison gives the recipe's own numbers.

In a file of its own: its two trainings run beside tests/test_show.py's, not after them.
"""

import recipes
from test_show import pasted_variant_scores


def test_the_pasted_l1_l2_lesson_reproduces_the_recipes_numbers(run_cli, tmp_path):
    """What a student pastes is what the recipe measured: on Iris (the same arrays from
    scikit-learn) the pasted comparison gives each variant the recipe's test accuracy and
    its share of near-zero weights, the numbers the slide's claim about L1 rests on."""

    pasted = tmp_path / "pasted.py"
    pasted.write_text(recipes.snippet("iris_l1_l2"))
    done = run_cli(str(pasted), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pasted_variant_scores(done.stdout)
    results = recipes.run("iris_l1_l2", 
        ["--out", str(tmp_path / "run")])
    recorded = {name: {"test": record["test_accuracy"],
                       "near_zero": record["weights"]["near_zero_fraction"]}
                for name, record in results["variants"].items()}
    assert list(table) == list(recorded) == ["none", "l1", "l2", "l1l2"]
    for name, row in table.items():
        assert abs(row["test"] - recorded[name]["test"]) < 1e-4, (name, row, recorded[name])
        assert abs(row["near_zero"] - recorded[name]["near_zero"]) < 1e-4, (name, row)
    # The slide's claims, in what the student sees: L1 zeroes far more weights than L2;
    # L2 keeps the largest weight smaller than no penalty does.
    assert table["l1"]["near_zero"] > 2 * table["l2"]["near_zero"] + 0.1, table
    assert table["l2"]["max_abs_w"] < table["none"]["max_abs_w"], table
