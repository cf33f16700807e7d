"""Recipes ship inside the package and are found by name; a typo in a name, a path or `--set` is named."""

import subprocess
import sys

import pytest
import yaml

from seq2seq.config import load_config
from seq2seq.errors import ConfigError
from seq2seq.recipes import RECIPES_DIR, find_config, packaged_recipes, recipe_summary


def test_every_recipe_is_in_the_package_loads_and_says_what_it_trains():
    recipes = packaged_recipes()
    assert {"spa_eng", "spa_eng_tiny", "genre_es", "lm_char_en"} <= set(recipes)
    for name, path in recipes.items():
        load_config(path)  # a recipe that no longer validates fails here, named by its file
        assert len(recipe_summary(path).split()) >= 5, f"{name}: no opening comment for `seq2seq configs` to show"


def test_a_bare_name_finds_the_recipe_and_a_path_is_read_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the clone: no configs/ here
    assert find_config("spa_eng_tiny") == RECIPES_DIR / "spa_eng_tiny.yaml"
    assert find_config("spa_eng_tiny.yaml") == RECIPES_DIR / "spa_eng_tiny.yaml"
    own = tmp_path / "spa_eng_tiny.yaml"  # a user's own file of the same name wins
    own.write_text((RECIPES_DIR / "spa_eng_tiny.yaml").read_text())
    assert find_config("spa_eng_tiny.yaml").resolve() == own


def test_a_missing_config_names_the_recipe_meant(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"spa_eng_tinyy: no such config file.*did you mean `spa_eng_tiny`"):
        find_config("spa_eng_tinyy")
    with pytest.raises(ConfigError, match=r"configs/spa_eng\.yaml: no such config file; .*`seq2seq train spa_eng`"):
        find_config("configs/spa_eng.yaml")


def test_a_mistake_brought_in_by_set_is_blamed_on_set_and_the_files_own_on_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"^--set \(over .*spa_eng_tiny\.yaml\): unknown key 'train\.epochz'"):
        load_config(RECIPES_DIR / "spa_eng_tiny.yaml", ["train.epochz=1"])
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"train": {"epochz": 1}}))
    with pytest.raises(ConfigError, match=r"^.*broken\.yaml: unknown key 'train\.epochz'"):
        load_config(broken, ["train.epochs=2"])


def test_the_configs_verb_lists_the_recipes_and_train_checks_before_tensorflow(tmp_path):
    listed = subprocess.run([sys.executable, "-m", "seq2seq.cli", "configs"], capture_output=True, text=True,
                            cwd=tmp_path, check=True).stdout
    assert "spa_eng_tiny  " in listed and "recipes in" in listed
    probe = ("import sys; from seq2seq.cli import main; code = main(['train', 'spa_eng_tiny', '--set', "
             "'train.epochz=1']); print(code, 'tensorflow' in sys.modules)")
    finished = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert finished.stdout.split() == ["2", "False"]
    assert "did you mean 'train.epochs'" in finished.stderr
