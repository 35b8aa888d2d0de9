"""The README's Python examples run as written (in a scratch folder)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks()
    assert len(blocks) >= 2, "README should show the amsim and the uddm API"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"__name__": "readme"})


def test_ci_runs_the_readme_test_command():
    text = README.read_text()
    assert "<!-- test-command -->" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "test-command" in ci


def test_uddm_results_doc_is_generated_from_the_committed_summary():
    """docs/results-uddm.md's tables are exactly what experiments/uddm_results.py writes
    from figures/uddm_summary.json (regenerate both with the figure scripts)."""
    import json

    from tests.experiments.helpers import load_script
    root = README.parent
    mod = load_script("uddm_results")
    doc = (root / "docs" / "results-uddm.md").read_text()
    summary = json.loads((root / "figures" / "uddm_summary.json").read_text())
    ema_path = root / "figures" / "uddm_ema_check.json"
    ema = json.loads(ema_path.read_text()) if ema_path.exists() else None
    assert mod.render(doc, summary, ema) == doc
