"""The course notebooks: generated from the Markdown sheets, in sync, and runnable."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import load_module

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
notebooks = load_module(COURSE / "notebooks.py")
runsheet = load_module(COURSE / "runsheet.py")


def test_every_sheet_and_solution_has_a_notebook_in_sync():
    pairs = notebooks.sources()
    sheets = sorted(COURSE.glob("[0-9][0-9]_*.md"))
    assert len(pairs) == 2 * len(sheets)
    stale = [str(t.relative_to(ROOT)) for s, t in pairs
             if not t.is_file() or t.read_text(encoding="utf-8") != notebooks.render(s)]
    assert not stale, f"regenerate with `python course/notebooks.py`: {stale}"
    extra = {p for p in (COURSE / "notebooks").rglob("*.ipynb")} - {t for _, t in pairs}
    assert not extra, f"notebooks without a Markdown source: {sorted(map(str, extra))}"


def test_a_notebook_holds_exactly_the_sheets_code():
    import nbformat
    for source, target in notebooks.sources():
        nb = nbformat.read(target, as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        if source.parent.name == "solutions":
            assert "run_sheets" in code[0]
            code = code[1:]
        assert [c.rstrip("\n") for c in code] == [s.rstrip("\n") for _, s in runsheet.code_blocks(source)], target.name
        assert nb.metadata["kernelspec"]["name"] == "python3"


def test_check_mode_reports_a_stale_notebook(tmp_path, monkeypatch, capsys):
    src = tmp_path / "01_x.md"
    src.write_text("# Sheet 1: x\n\ntext\n\n```python\nx = 1\n```\n")
    monkeypatch.setattr(notebooks, "COURSE", tmp_path)
    monkeypatch.setattr(notebooks, "OUT", tmp_path / "notebooks")
    assert notebooks.main(["--check"]) == 1 and "out of date" in capsys.readouterr().out
    assert notebooks.main([]) == 0 and notebooks.main(["--check"]) == 0


@pytest.mark.parametrize("name", ["notebooks/08_two_memories.ipynb",
                                  "notebooks/solutions/01_hopfield.ipynb"])
def test_a_notebook_executes_end_to_end(name, tmp_path):
    """A Jupyter kernel runs the notebook, every cell, with no error (the solution's
    asserts included, for the solution notebook)."""
    import nbformat
    from nbclient import NotebookClient
    path = COURSE / name
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import matplotlib\nmatplotlib.use('Agg')\n"
                                                 "import os\nos.environ['OMP_NUM_THREADS'] = '1'"))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
