"""The course sheets: every code block of every sheet and of its solution runs.

Each sheet is executed together with its worked solution in one namespace, as
`python course/runsheet.py SHEET SOLUTION` does; the solutions' asserts check the
science (tolerances from theory or sampling error), so an API change that breaks
an exercise, or numerics that drift, fail here.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
SHEETS = sorted(COURSE.glob("[0-9][0-9]_*.md"))


def _runsheet():
    spec = importlib.util.spec_from_file_location("runsheet", COURSE / "runsheet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runsheet = _runsheet()


def _exercises(text: str) -> list[str]:
    return re.findall(r"^## Exercise (\d+\.\d+)", text, flags=re.M)


def test_the_sequence_has_seven_numbered_sheets_each_with_a_solution():
    assert [p.name[:2] for p in SHEETS] == [f"{k:02d}" for k in range(1, 8)]
    for sheet in SHEETS:
        assert (COURSE / "solutions" / sheet.name).is_file(), sheet.name


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_sheet_has_goal_theory_exercises_and_questions(sheet):
    text = sheet.read_text(encoding="utf-8")
    number = int(sheet.name[:2])
    assert re.match(rf"# Sheet {number}: \S", text), "title line"
    for marker in ("**Goal.**", "**Time.**", "**Run.**", "## Theory", "## Setup", "**Questions.**"):
        assert marker in text, f"{sheet.name} lacks {marker}"
    assert re.search(r"eq\. ?\d+", text), "the theory cites the paper's equation numbers"
    exercises = _exercises(text)
    assert len(exercises) >= 3 and all(e.startswith(f"{number}.") for e in exercises)
    # every exercise asks lettered questions
    for block in re.split(r"^## Exercise ", text, flags=re.M)[1:]:
        assert "**Questions.**" in block and "(a)" in block, block.splitlines()[0]
    assert runsheet.code_blocks(sheet), "starter code"


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_solution_answers_every_exercise_and_checks_its_claims(sheet):
    solution = COURSE / "solutions" / sheet.name
    text = solution.read_text(encoding="utf-8")
    number = int(sheet.name[:2])
    assert re.match(rf"# Solutions to sheet {number}: \S", text)
    assert _exercises(text) == _exercises(sheet.read_text(encoding="utf-8"))
    code = "".join(src for _, src in runsheet.code_blocks(solution))
    assert "assert " in code, "solutions check their answers"


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda p: p.stem)
def test_sheet_and_its_solution_run(sheet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)        # anything a sheet writes stays out of the checkout
    runsheet.run_sheets([sheet, COURSE / "solutions" / sheet.name])


def test_readmes_link_every_sheet_with_its_time():
    for readme, prefix in ((ROOT / "README.md", "course/"), (COURSE / "README.md", "")):
        text = readme.read_text(encoding="utf-8")
        for sheet in SHEETS:
            line = next((l for l in text.splitlines() if f"]({prefix}{sheet.name})" in l), None)
            assert line is not None, f"{readme.name} does not link {sheet.name}"
            assert re.search(r"\d+ min", line), f"{readme.name}: no time for {sheet.name}"


def test_runner_rejects_unknown_fences_and_unclosed_blocks(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("# x\n```bash\nls\n```\n")
    with pytest.raises(ValueError, match="'bash'"):
        runsheet.code_blocks(bad)
    bad.write_text("# x\n```python\nx = 1\n")
    with pytest.raises(ValueError, match="never closed"):
        runsheet.code_blocks(bad)


def test_runner_shares_one_namespace_and_reports_the_markdown_line(tmp_path):
    first = tmp_path / "a.md"
    first.write_text("text\n```python\nx = 2\n```\n```text\nnot run\n```\n")
    second = tmp_path / "b.md"
    second.write_text("# solution\n\n```python\ny = x + 1\nassert y == 4, 'wrong'\n```\n")
    assert runsheet.code_blocks(first) == [(3, "x = 2\n")]
    with pytest.raises(AssertionError) as err:
        runsheet.run_sheets([first, second])
    frame = err.traceback[-1]
    assert Path(str(frame.path)).name == "b.md" and frame.lineno + 1 == 5
    namespace = runsheet.run_sheets([first])
    assert namespace["x"] == 2


def test_runner_command_line(tmp_path, capsys):
    sheet = tmp_path / "s.md"
    sheet.write_text("```python\nprint('hello')\n```\n")
    assert runsheet.main([str(sheet)]) == 0
    assert "hello" in capsys.readouterr().out
    assert runsheet.main([str(tmp_path / "missing.md")]) == 2
    assert "no such sheet" in capsys.readouterr().err
