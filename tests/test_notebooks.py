"""Every recipe in the lecture's order, and as a notebook that matches it."""

import recipes


def test_every_recipe_has_its_place_in_the_lecture_order():
    found = sorted(p.stem for p in recipes.RECIPES_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert sorted(recipes.LECTURE_ORDER) == found, "add a new recipe to recipes.LECTURE_ORDER"
    assert recipes.recipe_names() == list(recipes.LECTURE_ORDER)
