"""Recipes: the configs that ship inside the package, found by name (`seq2seq train spa_eng_tiny`).

An installed wheel has no `configs/` folder beside the user's shell, so a recipe is looked up among
the package's own `seq2seq/configs/*.yaml` when the argument is a bare name; a path is read as given.
A clone's top-level `configs/` links to the same folder, so the paths in the docs still work there.
"""

import difflib
from pathlib import Path

from seq2seq.errors import ConfigError
from seq2seq.paths import checked_path

RECIPES_DIR = Path(__file__).resolve().parent / "configs"


def packaged_recipes() -> dict[str, Path]:
    """{name: path} of every recipe in the package, by name."""
    return {path.stem: path for path in sorted(RECIPES_DIR.glob("*.yaml"))}


def find_config(name_or_path) -> Path:
    """A config file: the path itself where it exists, else the packaged recipe of that bare name."""
    path = checked_path(name_or_path)
    if path.is_file():
        return path
    recipes = packaged_recipes()
    name = path.name.removesuffix(".yaml")
    if path.parent == Path(".") and name in recipes:
        return recipes[name]
    if name in recipes:
        raise ConfigError(f"{name_or_path}: no such config file; the package has a recipe of that name: "
                          f"`seq2seq train {name}`")
    close = difflib.get_close_matches(name, recipes, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    raise ConfigError(f"{name_or_path}: no such config file, and no packaged recipe of that name{hint} "
                      f"(`seq2seq configs` lists them)")


def recipe_summary(path: Path) -> str:
    """The recipe's first comment sentence: what it trains, in its own words."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    text = " ".join(lines)
    end = text.find(". ")
    return text[:end + 1] if end >= 0 else text
