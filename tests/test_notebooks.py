"""The notebooks run top to bottom in their fast setting, and are committed clean.

Each runs in a fresh kernel whose working directory and seq2seq cache are temporary, so runs, data
and downloads never land in the repository or the user's cache.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = ["translation_spa_eng.ipynb", "image_captioning.ipynb", "rnn_cells.ipynb", "rnn_shapes.ipynb"]
CELL_TIMEOUT = 300  # seconds; the slowest cell (training the captioner) takes about 90 on 2 cores


def read(name):
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean_with_fast_parameters_first(name):
    notebook = read(name)
    nbformat.validate(notebook)
    cells = code_cells(notebook)
    assert [cell.outputs for cell in cells] == [[]] * len(cells), "strip the outputs before committing"
    assert {cell.execution_count for cell in cells} == {None}, "strip the execution counts before committing"
    assert re.search(r"^FAST = True\b", cells[0].source, re.MULTILINE), "the first code cell sets FAST = True"


@pytest.mark.slow  # minutes on 2 cores: CI runs the slow tests in a second step
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_its_fast_setting(name, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQ2SEQ_CACHE_DIR", str(tmp_path / "cache"))
    before = sorted(NOTEBOOK_DIR.rglob("*"))
    notebook = read(name)
    # Raises CellExecutionError, naming the cell and its traceback, if any cell fails.
    NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    cells = code_cells(notebook)
    assert all(cell.execution_count for cell in cells), "every code cell ran"
    assert any(output.get("data", {}).get("image/png") for cell in cells for output in cell.outputs), \
        "the notebook drew its figures"
    assert sorted(NOTEBOOK_DIR.rglob("*")) == before, "the notebook wrote into the repository"
